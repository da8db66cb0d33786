-- Leader-only, fenced on the term: deletes one batch of old final jobs.
-- $1 completed older than (s), $2 discarded/cancelled older than (s), $3 batch, $4 leader_id, $5 term
-- Oldest first along oncely_jobs_finalized, bounded by the shorter retention
-- (read once, in a subquery: a bare clock_timestamp() cannot bound an index
-- scan, and the planner read the whole table at every prune instead); each
-- row is then held to its own state's retention. The picked ids are deleted
-- by key as one array (a join could hash the whole table).
WITH doomed AS (
    SELECT id FROM oncely_jobs
    WHERE state IN ('completed','discarded','cancelled')
      AND finalized_at < (SELECT clock_timestamp() - make_interval(secs => least($1::float8, $2::float8)))
      AND finalized_at < clock_timestamp()
          - make_interval(secs => CASE WHEN state = 'completed' THEN $1 ELSE $2 END)
    ORDER BY finalized_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
DELETE FROM oncely_jobs j
WHERE j.id = ANY(ARRAY(SELECT id FROM doomed))
  AND j.state IN ('completed','discarded','cancelled')
  AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = $4 AND term = $5)
RETURNING j.id
