-- Workers unseen for a day are forgotten.
DELETE FROM oncely_workers WHERE last_seen_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
