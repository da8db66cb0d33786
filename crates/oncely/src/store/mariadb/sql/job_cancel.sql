-- An operator cancels a job that is not final: at once when it is not
-- running; a running one is asked to stop (it ends at its next heartbeat).
-- MariaDB and MySQL assign left to right, each SET seeing the ones before:
-- the order below is part of the meaning.
-- Binds: id
UPDATE oncely_jobs
SET errors = CASE WHEN cancel_requested_at IS NOT NULL AND state = 'running' THEN errors
                  ELSE JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', IF(state = 'running', 'cancel requested', 'operator'), 'fence', fence, 'worker', locked_by, 'started_at', DATE_FORMAT(attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', IF(state = 'running', CONCAT('cancel requested by operator: waiting for attempt ', attempt, ' to stop'), 'cancelled by operator'))) END,
    cancel_requested_at = CASE WHEN state = 'running' THEN COALESCE(cancel_requested_at, UTC_TIMESTAMP(6)) END,
    lease_expires_at = CASE WHEN state = 'running' THEN lease_expires_at END,
    finalized_at = CASE WHEN state = 'running' THEN NULL ELSE UTC_TIMESTAMP(6) END,
    state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END
WHERE id = ? AND state NOT IN ('completed','discarded','cancelled')
