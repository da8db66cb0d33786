-- One pgbench transaction = one batch of a job's life in bare SQL on oncely's
-- own schema: claim :batch due jobs with SKIP LOCKED (fencing token, lease),
-- commit; complete them, fenced on the token, commit. No runtime, no
-- round trip per job: the most this server can do with oncely's table.
-- (The completion finds this client's batch through the lease index: only
-- running jobs hold a lease.)
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
UPDATE oncely_jobs j
SET state = 'completed', lease_expires_at = NULL, finalized_at = clock_timestamp()
WHERE j.state = 'running' AND j.lease_expires_at IS NOT NULL
  AND j.locked_by = 'limit-' || :client_id;
