-- Operator: cancels a job that is not final. A job that is not running is
-- cancelled at once. A running one is only asked to stop: it stays running,
-- lease held, with cancel_requested_at set, until its attempt has provably
-- ended (its worker writes `cancelled`, fenced; or its lease runs out and the
-- rescuer does), so no second attempt can start while the first may act.
-- Asking again changes nothing. ?1 id
UPDATE oncely_jobs
SET state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END,
    cancel_requested_at = CASE WHEN state = 'running'
                               THEN COALESCE(cancel_requested_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) END,
    lease_expires_at = CASE WHEN state = 'running' THEN lease_expires_at END,
    finalized_at = CASE WHEN state = 'running' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    errors = CASE WHEN cancel_requested_at IS NOT NULL AND state = 'running' THEN errors
                  ELSE json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'outcome', CASE WHEN state = 'running' THEN 'cancel requested' ELSE 'operator' END, 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
        'error', CASE WHEN state = 'running'
                      THEN 'cancel requested by operator: waiting for attempt ' || attempt || ' to stop'
                      ELSE 'cancelled by operator' END)) END
WHERE id = ?1 AND state NOT IN ('completed','discarded','cancelled')
RETURNING *
