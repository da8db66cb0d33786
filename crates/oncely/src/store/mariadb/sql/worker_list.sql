-- Binds: microseconds back
SELECT id, queues, started_at, last_seen_at, stopped_at FROM oncely_workers
WHERE last_seen_at >= UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND
ORDER BY last_seen_at DESC, id
