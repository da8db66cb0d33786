-- Fenced: records a failed attempt; retryable after $4 seconds, or discarded
-- when attempts are used up. $1 id, $2 fence, $3 error text
UPDATE oncely_jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
    run_at = clock_timestamp() + make_interval(secs => $4),
    lease_expires_at = NULL,
    finalized_at = CASE WHEN attempt >= max_attempts THEN clock_timestamp() END,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND fence = $2 AND state = 'running'
RETURNING state
