-- One pgbench transaction = one batch on the archive layout
-- (archive_schema.sql): the same claim as drain.sql, then a completion that
-- deletes this client's running jobs from oncely_jobs (fenced the same way:
-- still running, still leased) and inserts them, completed, into the history
-- table in the same statement.
WITH picked AS (
    SELECT id FROM oncely_jobs
    WHERE queue = 'bench' AND state IN ('scheduled','available','retryable')
      AND run_at <= now() AND kind = ANY('{noop}')
    ORDER BY priority, run_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
UPDATE oncely_jobs j
SET state = 'running', attempt = j.attempt + 1, fence = nextval('oncely_fence_seq'),
    lease_expires_at = now() + interval '30 seconds', attempted_at = now(),
    locked_by = 'limit-' || :client_id
FROM picked WHERE j.id = picked.id;
WITH gone AS (
    DELETE FROM oncely_jobs j
    WHERE j.state = 'running' AND j.lease_expires_at IS NOT NULL
      AND j.locked_by = 'limit-' || :client_id
    RETURNING j.*
)
INSERT INTO oncely_jobs_finished (
    id, queue, kind, args, state, priority, run_at, attempt, max_attempts, fence,
    lease_expires_at, locked_by, at_most_once, unique_key, idempotency_key, timeout_ms,
    errors, created_at, attempted_at, finalized_at, reconciling, reconcilable,
    cancel_requested_at, reruns)
SELECT id, queue, kind, args, 'completed', priority, run_at, attempt, max_attempts, fence,
       NULL, locked_by, at_most_once, unique_key, idempotency_key, timeout_ms,
       errors, created_at, attempted_at, clock_timestamp(), reconciling, reconcilable,
       cancel_requested_at, reruns
FROM gone;
