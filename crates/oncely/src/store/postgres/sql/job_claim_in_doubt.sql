-- A paused queue (oncely_queues.paused_at set) gives nothing.
-- Claims up to $3 in-doubt jobs of queue $1 with kinds in $2 (kinds that can
-- reconcile) to run their reconcile step: a new fencing token and lease, the
-- attempt unchanged. Only jobs inserted reconcilable, or of a kind in $6
-- (kinds that reconcile every job); only once due for $7 seconds (a request of
-- the uncertain attempt still in flight lands first). $4 lease seconds, $5 worker id
WITH picked AS (
    SELECT id
    FROM oncely_jobs
    WHERE queue = $1 AND state = 'in_doubt'
      AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = $1 AND p.paused_at IS NOT NULL)
      AND run_at <= now() - make_interval(secs => $7) AND kind = ANY($2)
      AND (reconcilable OR kind = ANY($6))
    ORDER BY run_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE oncely_jobs j
SET state = 'running',
    fence = ((SELECT oncely_fence_epoch()) << 40) + nextval('oncely_fence_seq'),
    lease_expires_at = now() + make_interval(secs => $4),
    attempted_at = now(),
    locked_by = $5,
    cancel_requested_at = NULL,
    reconciling = true
FROM picked
WHERE j.id = picked.id
RETURNING j.*
