-- Finished jobs per minute and state. Binds: seconds back
SELECT DATE_FORMAT(finalized_at, '%Y-%m-%dT%H:%i:00.000Z') AS minute, state, CAST(COUNT(*) AS SIGNED) AS count
FROM oncely_jobs
WHERE finalized_at >= UTC_TIMESTAMP(6) - INTERVAL ? SECOND
GROUP BY 1, 2
ORDER BY 1, 2
