-- Fenced: records a failed attempt; retryable after ?4 modifier, or discarded
-- when attempts are used up. ?1 id, ?2 fence, ?3 error text, ?4 delay modifier
UPDATE oncely_jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4),
    lease_expires_at = NULL,
    finalized_at = CASE WHEN attempt >= max_attempts
                        THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', ?3))
WHERE id = ?1 AND fence = ?2 AND state = 'running'
RETURNING state
