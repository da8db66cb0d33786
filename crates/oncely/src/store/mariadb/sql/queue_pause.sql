-- Pauses a queue (kept as it was when already paused). Binds: name, actor, reason
INSERT INTO oncely_queues (name, paused_at, paused_by, pause_reason, updated_at)
VALUES (?, UTC_TIMESTAMP(6), ?, ?, UTC_TIMESTAMP(6))
ON DUPLICATE KEY UPDATE
    paused_by = IF(paused_at IS NULL, VALUES(paused_by), paused_by),
    pause_reason = IF(paused_at IS NULL, VALUES(pause_reason), pause_reason),
    updated_at = IF(paused_at IS NULL, VALUES(updated_at), updated_at),
    paused_at = COALESCE(paused_at, VALUES(paused_at))
