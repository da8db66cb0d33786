DELETE FROM oncely_workers WHERE last_seen_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY
