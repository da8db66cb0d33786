-- Binds: id, queues
INSERT INTO oncely_workers (id, queues, started_at, last_seen_at) VALUES (?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
ON DUPLICATE KEY UPDATE queues = VALUES(queues), last_seen_at = UTC_TIMESTAMP(6), stopped_at = NULL
