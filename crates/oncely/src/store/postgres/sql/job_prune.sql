-- Leader-only, fenced on the term: deletes one batch of old final jobs.
-- $1 completed older than (s), $2 discarded/cancelled older than (s), $3 batch, $4 leader_id, $5 term
WITH doomed AS (
    SELECT id FROM oncely_jobs
    WHERE (state = 'completed' AND finalized_at < clock_timestamp() - make_interval(secs => $1))
       OR (state IN ('discarded','cancelled') AND finalized_at < clock_timestamp() - make_interval(secs => $2))
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
DELETE FROM oncely_jobs j
USING doomed
WHERE j.id = doomed.id
  AND j.state IN ('completed','discarded','cancelled')
  AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = $4 AND term = $5)
RETURNING j.id
