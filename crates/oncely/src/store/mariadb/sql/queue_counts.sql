-- Job counts by queue and state.
SELECT queue, state, CAST(COUNT(*) AS SIGNED) AS count FROM oncely_jobs GROUP BY queue, state ORDER BY queue, state
