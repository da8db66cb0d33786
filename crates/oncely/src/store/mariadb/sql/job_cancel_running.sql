-- Fenced: the attempt stopped on an operator's cancel. Binds: reason, id, fence
UPDATE oncely_jobs
SET state = 'cancelled', lease_expires_at = NULL, finalized_at = UTC_TIMESTAMP(6),
    errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'cancelled', 'fence', fence, 'worker', locked_by, 'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', ?))
WHERE id = ? AND fence = ? AND state = 'running'
