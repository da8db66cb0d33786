-- Rescues the picked jobs (JSON array of ids) whose lease ended: cancelled
-- when an operator asked, in doubt when at-most-once or reconciling,
-- discarded when out of attempts, else retryable now. Binds: picked
UPDATE oncely_jobs j
JOIN JSON_TABLE(?, '$[*]' COLUMNS (jid BIGINT PATH '$')) t ON j.id = t.jid
SET j.errors = JSON_ARRAY_APPEND(j.errors, '$', JSON_OBJECT(
        'attempt', j.attempt, 'outcome', 'lease expired', 'fence', j.fence, 'worker', j.locked_by,
        'started_at', DATE_FORMAT(j.attempted_at, '%Y-%m-%dT%H:%i:%s.%fZ'), 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'),
        'error', CONCAT('lease expired: worker ', COALESCE(j.locked_by, '?'), ' stopped heartbeating',
                        IF(j.cancel_requested_at IS NOT NULL, ' (cancelled by operator)', '')))),
    j.finalized_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN UTC_TIMESTAMP(6)
                          WHEN NOT (j.at_most_once OR j.reconciling) AND j.attempt >= j.max_attempts
                          THEN UTC_TIMESTAMP(6) END,
    j.state = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                   WHEN j.at_most_once OR j.reconciling THEN 'in_doubt'
                   WHEN j.attempt >= j.max_attempts THEN 'discarded'
                   ELSE 'retryable' END,
    j.run_at = UTC_TIMESTAMP(6),
    j.lease_expires_at = NULL
WHERE j.state = 'running'
