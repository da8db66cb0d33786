-- Fenced: the handler cancels its own job. $1 id, $2 fence, $3 reason
UPDATE oncely_jobs
SET state = 'cancelled', lease_expires_at = NULL, finalized_at = clock_timestamp(),
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'cancelled', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND fence = $2 AND state = 'running'
RETURNING id
