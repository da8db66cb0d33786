-- One pgbench transaction = one batch on the floor table (floor_schema.sql):
-- stamp :batch unlocked due jobs with SKIP LOCKED and commit, then delete
-- them by id and commit. The stamp touches no indexed column (a HOT update);
-- the delete writes no new row version. Nothing a job system must keep is
-- kept.
WITH picked AS (
    SELECT id FROM floor_jobs
    WHERE queue = 'bench' AND locked_at IS NULL AND run_at <= now()
    ORDER BY priority, run_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
), stamped AS (
    UPDATE floor_jobs j
    SET attempts = j.attempts + 1, locked_at = now(), locked_by = 'floor-' || :client_id
    FROM picked WHERE j.id = picked.id
    RETURNING j.id
)
SELECT coalesce(string_agg(id::text, ','), '0') AS ids FROM stamped
\gset
DELETE FROM floor_jobs WHERE id = ANY(ARRAY[:ids]::bigint[]);
