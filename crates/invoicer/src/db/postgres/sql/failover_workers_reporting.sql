-- The chaos harness (`chaos --failover`), on the promoted server: workers
-- whose heartbeat reached it after the promotion ($1). A worker that
-- finished and stopped cleanly since counts too: its stop was written there.
SELECT count(*) FROM oncely_workers WHERE last_seen_at > $1
