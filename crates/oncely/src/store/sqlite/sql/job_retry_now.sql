-- Operator: makes a job that is not running available now, with at least
-- one attempt left. A running job (also one asked to cancel) is refused: its
-- attempt has not ended. ?1 id
UPDATE oncely_jobs
SET state = 'available',
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    max_attempts = MAX(max_attempts, attempt + 1),
    finalized_at = NULL,
    cancel_requested_at = NULL,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'operator', 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', 'retried by operator'))
WHERE id = ?1 AND state <> 'running'
RETURNING *
