-- Workers seen in the last $1 seconds, most recent first.
SELECT id, queues, started_at, last_seen_at, stopped_at FROM oncely_workers
WHERE last_seen_at >= clock_timestamp() - make_interval(secs => $1)
ORDER BY last_seen_at DESC, id
