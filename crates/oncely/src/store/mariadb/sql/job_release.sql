-- Fenced: hands the job back at shutdown (in doubt when it must not repeat,
-- cancelled when an operator asked).
-- MariaDB and MySQL assign left to right, each SET seeing the ones before:
-- the order below is part of the meaning.
-- Binds: reason, id, fence
UPDATE oncely_jobs
SET errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'released', 'fence', fence, 'worker', locked_by, 'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', ?)),
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6) END,
    attempt = CASE WHEN cancel_requested_at IS NOT NULL OR at_most_once OR reconciling
                   THEN attempt ELSE attempt - 1 END,
    state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN at_most_once OR reconciling THEN 'in_doubt' ELSE 'available' END,
    run_at = UTC_TIMESTAMP(6),
    lease_expires_at = NULL
WHERE id = ? AND fence = ? AND state = 'running'
