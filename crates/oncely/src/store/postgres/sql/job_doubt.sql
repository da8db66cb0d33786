-- Fenced: the attempt may or may not have had its effect: the job waits in
-- doubt (for reconciliation after $4 seconds, or a person); cancelled when an
-- operator asked for it (the reason is kept). $1 id, $2 fence, $3 reason
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'in_doubt' END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN clock_timestamp() END,
    run_at = clock_timestamp() + make_interval(secs => $4),
    lease_expires_at = NULL, reconciling = false,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'in_doubt', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING state
