-- Operator: makes a job that is not running available now, with at least
-- one attempt left. $1 id
UPDATE oncely_jobs
SET state = 'available', run_at = clock_timestamp(),
    max_attempts = GREATEST(max_attempts, attempt + 1), finalized_at = NULL
WHERE id = $1 AND state <> 'running'
RETURNING *
