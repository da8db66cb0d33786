-- Operator: pauses queue $1 (by $2, because $3). A queue already paused keeps
-- its first pause. Returns the queue's state.
INSERT INTO oncely_queues AS q (name, paused_at, paused_by, pause_reason, updated_at)
VALUES ($1, clock_timestamp(), $2, $3, clock_timestamp())
ON CONFLICT (name) DO UPDATE
SET paused_at = COALESCE(q.paused_at, EXCLUDED.paused_at),
    paused_by = CASE WHEN q.paused_at IS NULL THEN EXCLUDED.paused_by ELSE q.paused_by END,
    pause_reason = CASE WHEN q.paused_at IS NULL THEN EXCLUDED.pause_reason ELSE q.pause_reason END,
    updated_at = CASE WHEN q.paused_at IS NULL THEN EXCLUDED.updated_at ELSE q.updated_at END
RETURNING name, paused_at, paused_by, pause_reason, updated_at
