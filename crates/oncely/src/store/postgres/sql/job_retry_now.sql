-- Operator: makes a job that is not running available now, with at least
-- one attempt left. A running job (also one asked to cancel) is refused: its
-- attempt has not ended. $1 id
UPDATE oncely_jobs
SET state = 'available', run_at = clock_timestamp(),
    max_attempts = GREATEST(max_attempts, attempt + 1), finalized_at = NULL,
    cancel_requested_at = NULL,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'operator', 'at', clock_timestamp(), 'error', 'retried by operator'))
WHERE id = $1 AND state <> 'running'
RETURNING *
