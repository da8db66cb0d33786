SELECT name, paused_at, paused_by, pause_reason, updated_at FROM oncely_queues ORDER BY name
