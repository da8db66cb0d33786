-- Fenced: hands the lease back at shutdown. Available again at once (the
-- attempt is not counted), or in doubt for an at-most-once job or a
-- reconciliation (which never counts as an attempt); cancelled when an
-- operator asked for it. ?1 id, ?2 fence, ?3 reason
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN at_most_once OR reconciling THEN 'in_doubt' ELSE 'available' END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL OR at_most_once OR reconciling
                   THEN attempt ELSE attempt - 1 END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    lease_expires_at = NULL,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'released', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', ?3))
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING state
