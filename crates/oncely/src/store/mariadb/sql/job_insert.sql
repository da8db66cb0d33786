-- Inserts a job; a unique-key conflict is error 1062 (the caller reads the
-- holder). Binds: queue, kind, args, run_at (NULL = now) twice, priority,
-- run_at again, max_attempts, unique_key, idempotency_key, at_most_once,
-- timeout_ms, reconcilable.
INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                         unique_key, idempotency_key, at_most_once, timeout_ms, reconcilable, created_at)
VALUES (?, ?, ?,
        CASE WHEN ? IS NOT NULL AND ? > UTC_TIMESTAMP(6) THEN 'scheduled' ELSE 'available' END,
        ?, COALESCE(?, UTC_TIMESTAMP(6)), ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
