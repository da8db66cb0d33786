-- Fenced: records a failed attempt; retryable after $4 seconds, discarded
-- when attempts are used up, cancelled when an operator asked for it. With
-- $5 (a reconcile step found the effect did not happen) the job runs again
-- even after its last attempt: one more attempt is granted, as long as fewer
-- than half of max_attempts were granted so far (so at most the job's
-- original max_attempts in all). $1 id, $2 fence, $3 error text
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN attempt >= max_attempts AND NOT ($5 AND 2 * reruns < max_attempts)
                 THEN 'discarded'
                 ELSE 'retryable' END,
    max_attempts = CASE WHEN cancel_requested_at IS NULL AND $5 AND attempt >= max_attempts
                             AND 2 * reruns < max_attempts
                        THEN attempt + 1 ELSE max_attempts END,
    reruns = CASE WHEN cancel_requested_at IS NULL AND $5 AND attempt >= max_attempts
                       AND 2 * reruns < max_attempts
                  THEN reruns + 1 ELSE reruns END,
    run_at = clock_timestamp() + make_interval(secs => $4),
    lease_expires_at = NULL,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN clock_timestamp()
                        WHEN attempt >= max_attempts AND NOT ($5 AND 2 * reruns < max_attempts)
                        THEN clock_timestamp() END,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'failed', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(),
        'error', $3::text || CASE
            WHEN cancel_requested_at IS NOT NULL THEN ' (cancelled by operator)'
            WHEN $5 AND attempt >= max_attempts AND 2 * reruns < max_attempts
            THEN ' (that was its last attempt: one more granted, ' || (reruns + 1) || ' so far)'
            WHEN $5 AND attempt >= max_attempts THEN ' (no more attempts can be granted)'
            ELSE '' END))
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING state
