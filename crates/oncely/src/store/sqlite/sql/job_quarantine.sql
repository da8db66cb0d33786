-- Fenced: discards a job just claimed whose row cannot be decoded, so that it
-- is never claimed again and poisons no batch; the row stays for an operator.
-- An errors value that is not a list is kept inside the new entry.
-- ?1 id, ?2 fence, ?3 reason
UPDATE oncely_jobs
SET state = 'discarded',
    lease_expires_at = NULL,
    finalized_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    errors = json_insert(
        CASE WHEN json_type(errors) = 'array' THEN errors ELSE '[]' END,
        '$[#]',
        json_object('attempt', attempt, 'outcome', 'quarantined', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                    'error', ?3,
                    'unreadable_errors', CASE WHEN json_type(errors) = 'array'
                                              THEN NULL ELSE json(errors) END))
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING id
