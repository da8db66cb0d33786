-- A paused queue (oncely_queues.paused_at set) gives nothing.
-- Claims up to ?3 due jobs of queue ?1 with kinds in JSON array ?2.
-- ?4 fence base (tokens base+1.. were reserved), ?5 lease modifier ('+30.000 seconds'), ?6 worker id.
-- Runs inside BEGIN IMMEDIATE, so no other writer can interleave.
WITH picked AS (
    SELECT id, row_number() OVER (ORDER BY priority, run_at, id) AS rn
    FROM oncely_jobs
    WHERE queue = ?1
      AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = ?1 AND p.paused_at IS NOT NULL)
      AND state IN ('scheduled','available','retryable')
      AND run_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      AND kind IN (SELECT value FROM json_each(?2))
    ORDER BY priority, run_at, id
    LIMIT ?3
)
UPDATE oncely_jobs
SET state = 'running',
    attempt = attempt + 1,
    fence = ?4 + picked.rn,
    lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?5),
    attempted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    locked_by = ?6,
    cancel_requested_at = NULL,
    reconciling = 0
FROM picked
WHERE oncely_jobs.id = picked.id
RETURNING *
