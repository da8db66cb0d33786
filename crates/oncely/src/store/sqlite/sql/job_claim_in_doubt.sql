-- A paused queue (oncely_queues.paused_at set) gives nothing.
-- Claims up to ?3 in-doubt jobs of queue ?1 with kinds in JSON array ?2
-- (kinds that can reconcile) to run their reconcile step: a new fencing token
-- and lease, the attempt unchanged. Only jobs inserted reconcilable, or of a
-- kind in JSON array ?7 (kinds that reconcile every job); only once due for the
-- settle time, ?8 as a modifier ('-3.000 seconds'), so that a request of the
-- uncertain attempt still in flight lands first.
-- ?4 fence base, ?5 lease modifier, ?6 worker id
WITH picked AS (
    SELECT id, row_number() OVER (ORDER BY run_at, id) AS rn
    FROM oncely_jobs
    WHERE queue = ?1 AND state = 'in_doubt'
      AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = ?1 AND p.paused_at IS NOT NULL)
      AND run_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?8)
      AND kind IN (SELECT value FROM json_each(?2))
      AND (reconcilable OR kind IN (SELECT value FROM json_each(?7)))
    ORDER BY run_at, id
    LIMIT ?3
)
UPDATE oncely_jobs
SET state = 'running',
    fence = ?4 + picked.rn,
    lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?5),
    attempted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    locked_by = ?6,
    cancel_requested_at = NULL,
    reconciling = 1
FROM picked
WHERE oncely_jobs.id = picked.id
RETURNING *
