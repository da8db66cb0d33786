-- Fenced: sleeps for $3 seconds without using up an attempt (cancelled
-- instead when an operator asked for it). $1 id, $2 fence
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'scheduled' END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN clock_timestamp() END,
    run_at = clock_timestamp() + make_interval(secs => $3), lease_expires_at = NULL
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING id
