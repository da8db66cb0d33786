-- Operator: resumes queue ?1: workers claim from it again. A queue never
-- paused gets a row that says it runs. Returns the queue's state.
INSERT INTO oncely_queues (name, paused_at, paused_by, pause_reason, updated_at)
VALUES (?1, NULL, NULL, NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT (name) DO UPDATE
SET updated_at = CASE WHEN paused_at IS NULL THEN updated_at ELSE excluded.updated_at END,
    paused_at = NULL, paused_by = NULL, pause_reason = NULL
RETURNING name, paused_at, paused_by, pause_reason, updated_at
