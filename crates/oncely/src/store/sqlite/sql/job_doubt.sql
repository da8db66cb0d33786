-- Fenced: the attempt may or may not have had its effect: the job waits in
-- doubt (for reconciliation after ?4, or a person); cancelled when an
-- operator asked for it (the reason is kept). ?1 id, ?2 fence, ?3 reason, ?4 delay modifier
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'in_doubt' END,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4),
    lease_expires_at = NULL, reconciling = 0,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'in_doubt', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', ?3))
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING state
