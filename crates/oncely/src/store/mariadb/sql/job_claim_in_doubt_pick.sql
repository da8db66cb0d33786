-- The in-doubt jobs of a queue due for reconciliation (settled for the given
-- microseconds), locked, skipping those another claim holds. Binds: queue,
-- settle microseconds, kinds (JSON array), every-job kinds (JSON array), limit
SELECT id FROM oncely_jobs
WHERE queue = ? AND state = 'in_doubt'
  AND run_at <= UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND
  AND JSON_CONTAINS(?, JSON_QUOTE(kind))
  AND (reconcilable OR JSON_CONTAINS(?, JSON_QUOTE(kind)))
ORDER BY run_at, id
LIMIT ?
FOR UPDATE SKIP LOCKED
