-- Fenced: records a failed attempt; retryable after the delay, discarded
-- when attempts are used up, cancelled when an operator asked for it. With
-- rerun set (a reconcile step found the effect did not happen) one more
-- attempt is granted after the last, while fewer than half of max_attempts
-- were granted so far.
-- MariaDB and MySQL assign left to right, each SET seeing the ones before:
-- the order below is part of the meaning.
-- (reruns and max_attempts grow exactly when the new state is retryable
-- after the last attempt, which only a granted rerun allows).
-- Binds: error, rerun, rerun, rerun, rerun, delay microseconds, id, fence
UPDATE oncely_jobs
SET errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'failed', 'fence', fence, 'worker', locked_by, 'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', CONCAT(?, CASE
            WHEN cancel_requested_at IS NOT NULL THEN ' (cancelled by operator)'
            WHEN ? AND 2 * reruns < max_attempts AND attempt >= max_attempts
            THEN CONCAT(' (that was its last attempt: one more granted, ', reruns + 1, ' so far)')
            WHEN ? AND attempt >= max_attempts THEN ' (no more attempts can be granted)'
            ELSE '' END))),
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6)
                        WHEN attempt >= max_attempts AND NOT (? AND 2 * reruns < max_attempts) THEN UTC_TIMESTAMP(6) END,
    state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN attempt >= max_attempts AND NOT (? AND 2 * reruns < max_attempts) THEN 'discarded'
                 ELSE 'retryable' END,
    reruns = IF(state = 'retryable' AND attempt >= max_attempts, reruns + 1, reruns),
    max_attempts = IF(state = 'retryable' AND attempt >= max_attempts, attempt + 1, max_attempts),
    run_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
    lease_expires_at = NULL
WHERE id = ? AND fence = ? AND state = 'running'
