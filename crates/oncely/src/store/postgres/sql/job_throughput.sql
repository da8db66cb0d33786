-- Jobs finalized per minute and final state over the last $1 minutes
-- (through oncely_jobs_finalized).
SELECT date_trunc('minute', finalized_at) AS minute, state, count(*) AS count
FROM oncely_jobs
WHERE finalized_at >= now() - make_interval(mins => $1)
GROUP BY 1, 2
ORDER BY 1, 2
