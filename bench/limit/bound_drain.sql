-- One pgbench transaction = one batch of bench/limit/drain.sql, with the
-- claim starting after the key (priority, run_at, id) of the last job this
-- client's previous claim took (pgbench variables lp, lr, li: run_at in
-- microseconds since the epoch) instead of at the head of the fetch index,
-- where the entries of every job claimed since the last vacuum lie. A claim
-- that finds nothing starts at the head again. A measurement of that lever,
-- not what oncely runs: a job that becomes due with a key below a client's
-- bound waits until that client's claim starts at the head again.
WITH picked AS (
    SELECT id FROM oncely_jobs
    WHERE queue = 'bench' AND state IN ('scheduled','available','retryable')
      AND run_at <= now() AND kind = ANY('{noop}')
      AND (priority, run_at, id) > (:lp, 'epoch'::timestamptz + :lr * interval '1 microsecond', :li)
    ORDER BY priority, run_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE oncely_jobs j
    SET state = 'running', attempt = j.attempt + 1, fence = nextval('oncely_fence_seq'),
        lease_expires_at = now() + interval '30 seconds', attempted_at = now(),
        locked_by = 'limit-' || :client_id
    FROM picked WHERE j.id = picked.id
    RETURNING j.priority, j.run_at, j.id
)
SELECT COALESCE(m.priority, -32768) AS lp, COALESCE(m.lr, 0) AS lr, COALESCE(m.id, 0) AS li
FROM (SELECT 1) one LEFT JOIN (
    SELECT priority, ((extract(epoch FROM run_at) * 1000000)::bigint) AS lr, id FROM claimed
    ORDER BY priority DESC, run_at DESC, id DESC LIMIT 1) m ON true \gset
UPDATE oncely_jobs j
SET state = 'completed', lease_expires_at = NULL, finalized_at = clock_timestamp()
WHERE j.state = 'running' AND j.lease_expires_at IS NOT NULL
  AND j.locked_by = 'limit-' || :client_id;
