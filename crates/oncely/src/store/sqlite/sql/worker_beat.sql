-- A worker says it is alive. ?1 id, ?2 queues (as configured, e.g. `mail=10`)
INSERT INTO oncely_workers (id, queues) VALUES (?1, ?2)
ON CONFLICT (id) DO UPDATE
SET queues = excluded.queues, last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), stopped_at = NULL
