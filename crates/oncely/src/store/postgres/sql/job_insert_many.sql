-- Inserts many jobs in one statement; jobs whose unique key is held by a
-- non-final job are skipped. Returns the ids inserted.
-- $1 queues, $2 kinds, $3 args, $4 priorities, $5 run_ats (NULL = now), $6 max_attempts,
-- $7 unique keys, $8 idempotency keys, $9 at_most_once flags, $10 timeouts (ms),
-- $11 reconcilable flags
INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                         unique_key, idempotency_key, at_most_once, timeout_ms, reconcilable)
SELECT q, k, a::jsonb,
       CASE WHEN r > now() THEN 'scheduled' ELSE 'available' END,
       p, COALESCE(r, now()), m, u, i, amo, t, rec
FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $6::int[],
            $7::text[], $8::text[], $9::bool[], $10::bigint[], $11::bool[])
     AS x(q, k, a, p, r, m, u, i, amo, t, rec)
ON CONFLICT DO NOTHING
RETURNING id
