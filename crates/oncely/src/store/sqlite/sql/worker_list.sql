-- Workers seen since ?1 (a modifier going back, '-300.000 seconds'), most recent first.
SELECT id, queues, started_at, last_seen_at, stopped_at FROM oncely_workers
WHERE last_seen_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
ORDER BY last_seen_at DESC, id
