-- Operator: pauses queue ?1 (by ?2, because ?3). A queue already paused keeps
-- its first pause. Returns the queue's state.
INSERT INTO oncely_queues (name, paused_at, paused_by, pause_reason, updated_at)
VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT (name) DO UPDATE
SET paused_by = CASE WHEN paused_at IS NULL THEN excluded.paused_by ELSE paused_by END,
    pause_reason = CASE WHEN paused_at IS NULL THEN excluded.pause_reason ELSE pause_reason END,
    updated_at = CASE WHEN paused_at IS NULL THEN excluded.updated_at ELSE updated_at END,
    paused_at = COALESCE(paused_at, excluded.paused_at)
RETURNING name, paused_at, paused_by, pause_reason, updated_at
