-- Fenced: discards a claimed row that does not decode, keeping what it held.
-- Binds: error, id, fence
UPDATE oncely_jobs
SET state = 'discarded', lease_expires_at = NULL, finalized_at = UTC_TIMESTAMP(6),
    errors = JSON_ARRAY_APPEND(IF(JSON_VALID(errors) AND JSON_TYPE(errors) = 'ARRAY', errors, '[]'), '$',
        JSON_OBJECT('attempt', attempt, 'outcome', 'quarantined', 'fence', fence, 'worker', locked_by,
                    'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', ?,
                    'unreadable_errors', IF(JSON_VALID(errors) AND JSON_TYPE(errors) = 'ARRAY', NULL, errors)))
WHERE id = ? AND fence = ? AND state = 'running'
