-- Operator: makes a job that is not running available now, with at least
-- one attempt left. ?1 id
UPDATE oncely_jobs
SET state = 'available',
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    max_attempts = MAX(max_attempts, attempt + 1),
    finalized_at = NULL
WHERE id = ?1 AND state <> 'running'
RETURNING *
