-- Fenced: the attempt may have acted: in doubt, asked about after the delay.
-- MariaDB and MySQL assign left to right, each SET seeing the ones before:
-- the order below is part of the meaning.
-- Binds: reason, delay microseconds, id, fence
UPDATE oncely_jobs
SET errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'in_doubt', 'fence', fence, 'worker', locked_by, 'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', ?)),
    finalized_at = CASE WHEN cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6) END,
    state = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'in_doubt' END,
    run_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
    lease_expires_at = NULL, reconciling = FALSE
WHERE id = ? AND fence = ? AND state = 'running'
