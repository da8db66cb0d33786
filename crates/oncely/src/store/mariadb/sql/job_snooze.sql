-- Fenced: runs the job again later without counting the attempt (cancelled
-- instead when an operator asked). Binds: delay microseconds, id, fence
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'scheduled' END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6) END,
    run_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
    lease_expires_at = NULL
WHERE id = ? AND fence = ? AND state = 'running'
