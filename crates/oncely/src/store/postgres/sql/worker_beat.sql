-- A worker says it is alive. $1 id, $2 queues (as configured, e.g. `mail=10`)
INSERT INTO oncely_workers AS w (id, queues) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE
SET queues = EXCLUDED.queues, last_seen_at = clock_timestamp(), stopped_at = NULL
