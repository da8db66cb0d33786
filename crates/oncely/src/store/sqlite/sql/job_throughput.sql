-- Jobs finalized per minute and final state over the last minutes; ?1 is
-- the modifier going back ('-3600.000 seconds'). Through oncely_jobs_finalized.
SELECT strftime('%Y-%m-%dT%H:%M:00.000Z', finalized_at) AS minute, state, count(*) AS count
FROM oncely_jobs
WHERE finalized_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
GROUP BY 1, 2
ORDER BY 1, 2
