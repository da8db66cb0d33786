-- An operator makes a job that is not running available now. Binds: id
UPDATE oncely_jobs
SET state = 'available', run_at = UTC_TIMESTAMP(6),
    max_attempts = GREATEST(max_attempts, attempt + 1),
    finalized_at = NULL, cancel_requested_at = NULL,
    errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'operator', 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', 'retried by operator'))
WHERE id = ? AND state <> 'running'
