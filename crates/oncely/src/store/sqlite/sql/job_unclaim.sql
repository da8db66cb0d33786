-- Fenced: hands back an attempt that never started (a job a worker claimed
-- ahead into its local buffer). The attempt is not counted; a reconciliation
-- goes back in doubt, a job an operator cancelled meanwhile is cancelled.
-- ?1 id, ?2 fence
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN reconciling THEN 'in_doubt' ELSE 'available' END,
    attempt = CASE WHEN reconciling THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    lease_expires_at = NULL,
    reconciling = 0
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING id
