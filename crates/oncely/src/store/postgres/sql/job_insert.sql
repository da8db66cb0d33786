-- Inserts a job; on a unique-key conflict inserts nothing and returns no row.
-- $1 queue, $2 kind, $3 args, $4 priority, $5 run_at (NULL = now), $6 max_attempts,
-- $7 unique_key, $8 idempotency_key, $9 at_most_once, $10 timeout_ms, $11 reconcilable
INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                         unique_key, idempotency_key, at_most_once, timeout_ms, reconcilable)
VALUES ($1, $2, $3::jsonb,
        CASE WHEN $5::timestamptz > now() THEN 'scheduled' ELSE 'available' END,
        $4, COALESCE($5::timestamptz, now()), $6, $7, $8, $9, $10, $11)
ON CONFLICT DO NOTHING
RETURNING *
