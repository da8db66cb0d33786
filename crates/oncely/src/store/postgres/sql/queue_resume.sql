-- Operator: resumes queue $1: workers claim from it again. A queue never
-- paused gets a row that says it runs. Returns the queue's state.
INSERT INTO oncely_queues AS q (name, paused_at, paused_by, pause_reason, updated_at)
VALUES ($1, NULL, NULL, NULL, clock_timestamp())
ON CONFLICT (name) DO UPDATE
SET paused_at = NULL, paused_by = NULL, pause_reason = NULL,
    updated_at = CASE WHEN q.paused_at IS NULL THEN q.updated_at ELSE EXCLUDED.updated_at END
RETURNING name, paused_at, paused_by, pause_reason, updated_at
