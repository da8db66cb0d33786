-- A paused queue (oncely_queues.paused_at set) has nothing due.
-- Read-only: is any job of queue ?1 with a kind in JSON array ?2 due now?
-- Lets an idle claim skip its write transaction.
SELECT 1 FROM oncely_jobs
WHERE queue = ?1
  AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = ?1 AND p.paused_at IS NOT NULL)
  AND state IN ('scheduled','available','retryable')
  AND run_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  AND kind IN (SELECT value FROM json_each(?2))
LIMIT 1
