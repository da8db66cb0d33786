-- A worker shut down gracefully. ?1 id
UPDATE oncely_workers
SET stopped_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE id = ?1
