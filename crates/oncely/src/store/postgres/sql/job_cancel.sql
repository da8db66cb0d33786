-- Operator: cancels a job that is not final. $1 id
UPDATE oncely_jobs
SET state = 'cancelled', lease_expires_at = NULL, finalized_at = clock_timestamp(),
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'at', clock_timestamp(), 'error', 'cancelled by operator'))
WHERE id = $1 AND state NOT IN ('completed','discarded','cancelled')
RETURNING *
