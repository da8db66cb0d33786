-- Fenced: sleeps for ?3 modifier without using up an attempt (cancelled
-- instead when an operator asked for it). ?1 id, ?2 fence
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'scheduled' END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3),
    lease_expires_at = NULL
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING id
