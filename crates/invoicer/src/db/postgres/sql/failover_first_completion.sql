-- The chaos harness (`chaos --failover`), on the promoted server: when the
-- first job completed after the promotion ($1, that server's clock).
SELECT min(finalized_at) FROM oncely_jobs WHERE state = 'completed' AND finalized_at > $1
