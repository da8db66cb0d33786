-- Operator: cancels a job that is not final. ?1 id
UPDATE oncely_jobs
SET state = 'cancelled',
    lease_expires_at = NULL,
    finalized_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', 'cancelled by operator'))
WHERE id = ?1 AND state NOT IN ('completed','discarded','cancelled')
RETURNING *
