-- Fenced: hands back a job that never started (the attempt is not
-- counted; a reconciliation goes back in doubt). Binds: id, fence
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN reconciling THEN 'in_doubt' ELSE 'available' END,
    attempt = CASE WHEN reconciling THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6) END,
    lease_expires_at = NULL,
    reconciling = FALSE
WHERE id = ? AND fence = ? AND state = 'running'
