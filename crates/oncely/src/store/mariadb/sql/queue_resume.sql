-- Resumes a queue. Binds: name
INSERT INTO oncely_queues (name, paused_at, paused_by, pause_reason, updated_at)
VALUES (?, NULL, NULL, NULL, UTC_TIMESTAMP(6))
ON DUPLICATE KEY UPDATE
    updated_at = IF(paused_at IS NULL, updated_at, VALUES(updated_at)),
    paused_at = NULL, paused_by = NULL, pause_reason = NULL
