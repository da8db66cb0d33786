-- A paused queue (oncely_queues.paused_at set) has nothing due.
-- Read-only: is any in-doubt job of queue ?1 (kinds in JSON array ?2) ready
-- to reconcile: reconcilable or of a kind in JSON array ?3, due for the settle
-- time ?4 (a modifier such as '-3.000 seconds')? Lets an idle claim skip its
-- write transaction.
SELECT 1 FROM oncely_jobs
WHERE queue = ?1 AND state = 'in_doubt'
  AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = ?1 AND p.paused_at IS NOT NULL)
  AND run_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4)
  AND kind IN (SELECT value FROM json_each(?2))
  AND (reconcilable OR kind IN (SELECT value FROM json_each(?3)))
LIMIT 1
