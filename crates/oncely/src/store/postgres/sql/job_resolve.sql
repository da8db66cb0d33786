-- Operator: decides an in-doubt job. $1 id, $2 new state ('completed', 'available'
-- or 'discarded'), $3 note recorded with who and why
UPDATE oncely_jobs
SET state = $2,
    run_at = clock_timestamp(),
    max_attempts = CASE WHEN $2 = 'available' THEN GREATEST(max_attempts, attempt + 1) ELSE max_attempts END,
    finalized_at = CASE WHEN $2 = 'available' THEN NULL ELSE clock_timestamp() END,
    reconciling = false,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'operator', 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND state = 'in_doubt'
RETURNING *
