-- Fenced: the handler cancels its own job. ?1 id, ?2 fence, ?3 reason
UPDATE oncely_jobs
SET state = 'cancelled',
    lease_expires_at = NULL,
    finalized_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'cancelled', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', ?3))
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING id
