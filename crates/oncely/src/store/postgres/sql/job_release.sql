-- Fenced: hands the lease back at shutdown. Available again at once (the
-- attempt is not counted), or in doubt for an at-most-once job or a
-- reconciliation (which never counts as an attempt); cancelled when an
-- operator asked for it. $1 id, $2 fence, $3 reason
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN at_most_once OR reconciling THEN 'in_doubt' ELSE 'available' END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL OR at_most_once OR reconciling
                   THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN clock_timestamp() END,
    run_at = clock_timestamp(), lease_expires_at = NULL,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'released', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING state
