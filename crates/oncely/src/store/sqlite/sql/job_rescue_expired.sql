-- Running jobs whose lease expired: cancelled when an operator asked for it
-- (the attempt is over: it obeys its lease), in doubt when at-most-once or
-- reconciling, discarded when out of attempts, else retryable now.
-- ?1 batch size
UPDATE oncely_jobs
SET state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN at_most_once OR reconciling THEN 'in_doubt'
                 WHEN attempt >= max_attempts THEN 'discarded'
                 ELSE 'retryable' END,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    lease_expires_at = NULL,
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                        WHEN NOT (at_most_once OR reconciling) AND attempt >= max_attempts
                        THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'lease expired', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
        'error', 'lease expired: worker ' || COALESCE(locked_by, '?') || ' stopped heartbeating'
                 || CASE WHEN cancel_requested_at IS NOT NULL THEN ' (cancelled by operator)' ELSE '' END))
WHERE id IN (
    -- Along the lease index, bounded by the clock: without statistics SQLite
    -- chose the state index and sorted every running job.
    SELECT id FROM oncely_jobs INDEXED BY oncely_jobs_lease
    WHERE state = 'running' AND lease_expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    ORDER BY lease_expires_at
    LIMIT ?1
)
RETURNING state
