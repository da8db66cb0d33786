-- The chaos harness (`chaos --failover`), on the promoted server: running
-- workers whose heartbeat reached it after the promotion ($1).
SELECT count(*) FROM oncely_workers WHERE stopped_at IS NULL AND last_seen_at > $1
