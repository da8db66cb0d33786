-- Deletes a batch of finished jobs past their retention, by the leader.
-- Binds: completed seconds, others seconds, leader id, term, batch
DELETE FROM oncely_jobs
WHERE state IN ('completed','discarded','cancelled')
  AND ((state = 'completed' AND finalized_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)
       OR (state IN ('discarded','cancelled') AND finalized_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND))
  AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ? AND term = ?)
ORDER BY finalized_at
LIMIT ?
