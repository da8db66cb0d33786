-- One pgbench transaction of the HOT-completion layout (hot_schema.sql): claim
-- :batch due jobs as drain.sql does, stamping a worker id unique to this
-- batch; commit; complete them by that stamp, writing only done_at (a
-- heap-only update where the page has room); commit.
\set b random(1, 1000000000)
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
    locked_by = 'limit-' || :client_id || '-' || :b
FROM picked WHERE j.id = picked.id;
UPDATE oncely_jobs j
SET done_at = clock_timestamp()
WHERE j.locked_by = 'limit-' || :client_id || '-' || :b AND j.state = 'running'
  AND j.done_at IS NULL;
