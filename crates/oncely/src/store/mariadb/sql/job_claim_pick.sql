-- The due jobs of a queue to claim, locked, skipping those another claim
-- holds. Binds: queue, kinds (JSON array), limit
SELECT id FROM oncely_jobs
WHERE waiting_in = ? AND run_at <= UTC_TIMESTAMP(6)
  AND JSON_CONTAINS(?, JSON_QUOTE(kind))
ORDER BY priority, run_at, id
LIMIT ?
FOR UPDATE SKIP LOCKED
