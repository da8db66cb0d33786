-- Workers unseen for a day are forgotten.
DELETE FROM oncely_workers WHERE last_seen_at < clock_timestamp() - interval '1 day'
