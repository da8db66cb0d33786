-- Operator: decides an in-doubt job. ?1 id, ?2 new state ('completed', 'available'
-- or 'discarded'), ?3 note recorded with who and why
UPDATE oncely_jobs
SET state = ?2,
    run_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    max_attempts = CASE WHEN ?2 = 'available' THEN MAX(max_attempts, attempt + 1) ELSE max_attempts END,
    finalized_at = CASE WHEN ?2 = 'available' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    reconciling = 0,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', 'operator', 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'error', ?3))
WHERE id = ?1 AND state = 'in_doubt'
RETURNING *
