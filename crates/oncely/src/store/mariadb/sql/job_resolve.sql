-- An operator decides an in-doubt job. Binds: state, state, state, note, id
UPDATE oncely_jobs
SET state = ?,
    run_at = UTC_TIMESTAMP(6),
    max_attempts = CASE WHEN ? = 'available' THEN GREATEST(max_attempts, attempt + 1) ELSE max_attempts END,
    finalized_at = CASE WHEN ? = 'available' THEN NULL ELSE UTC_TIMESTAMP(6) END,
    reconciling = FALSE,
    errors = JSON_ARRAY_APPEND(errors, '$', JSON_OBJECT('attempt', attempt, 'outcome', 'operator', 'at', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), 'error', ?))
WHERE id = ? AND state = 'in_doubt'
