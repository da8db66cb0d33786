-- A worker shut down gracefully. $1 id
UPDATE oncely_workers SET stopped_at = clock_timestamp(), last_seen_at = clock_timestamp() WHERE id = $1
