-- Inserts a job; on a unique-key conflict inserts nothing and returns no row.
-- ?1 queue, ?2 kind, ?3 args, ?4 priority, ?5 run_at (NULL = now), ?6 max_attempts,
-- ?7 unique_key, ?8 idempotency_key, ?9 at_most_once, ?10 timeout_ms, ?11 reconcilable
INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                         unique_key, idempotency_key, at_most_once, timeout_ms, created_at,
                         reconcilable)
VALUES (?1, ?2, json(?3),
        CASE WHEN ?5 IS NOT NULL AND ?5 > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             THEN 'scheduled' ELSE 'available' END,
        ?4, COALESCE(?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?6,
        ?7, ?8, ?9, ?10, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?11)
ON CONFLICT DO NOTHING
RETURNING *
