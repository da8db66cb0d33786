-- A paused queue (oncely_queues.paused_at set) gives nothing.
-- Claims up to $3 due jobs of queue $1 with kinds in $2; losers of a race
-- skip locked rows instead of waiting or failing.
-- $4 lease seconds, $5 worker id. The token carries the timeline (oncely_fence_epoch).
WITH picked AS (
    SELECT id
    FROM oncely_jobs
    WHERE queue = $1
      AND NOT EXISTS (SELECT 1 FROM oncely_queues p WHERE p.name = $1 AND p.paused_at IS NOT NULL)
      AND state IN ('scheduled','available','retryable')
      AND run_at <= now()
      AND kind = ANY($2)
      -- After a promotion, jobs whose effect must not repeat wait until the
      -- new timeline is settled (oncely_epochs).
      AND (NOT (at_most_once OR reconcilable)
           OR (SELECT oncely_fence_epoch()) <= (SELECT max(epoch) FROM oncely_epochs))
    ORDER BY priority, run_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE oncely_jobs j
SET state = 'running',
    attempt = j.attempt + 1,
    fence = ((SELECT oncely_fence_epoch()) << 40) + nextval('oncely_fence_seq'),
    lease_expires_at = now() + make_interval(secs => $4),
    attempted_at = now(),
    locked_by = $5,
    cancel_requested_at = NULL,
    reconciling = false
FROM picked
WHERE j.id = picked.id
RETURNING j.*
