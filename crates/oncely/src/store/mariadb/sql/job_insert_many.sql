-- Inserts many jobs without unique keys in one statement, from a JSON array
-- of objects (args as JSON text; run_at a UTC 'YYYY-MM-DD HH:MM:SS.ffffff',
-- absent for now; timeout_ms absent for none). Binds: jobs
INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                         idempotency_key, at_most_once, timeout_ms, reconcilable, created_at)
SELECT t.queue, t.kind, t.args,
       CASE WHEN t.run_at IS NOT NULL AND t.run_at > UTC_TIMESTAMP(6) THEN 'scheduled' ELSE 'available' END,
       t.priority, COALESCE(t.run_at, UTC_TIMESTAMP(6)), t.max_attempts,
       t.idempotency_key, t.at_most_once, t.timeout_ms, t.reconcilable, UTC_TIMESTAMP(6)
FROM JSON_TABLE(?, '$[*]' COLUMNS (
    n               FOR ORDINALITY,
    queue           VARCHAR(128) PATH '$.queue',
    kind            VARCHAR(128) PATH '$.kind',
    args            LONGTEXT     PATH '$.args',
    priority        SMALLINT     PATH '$.priority',
    run_at          DATETIME(6)  PATH '$.run_at' NULL ON EMPTY,
    max_attempts    INT          PATH '$.max_attempts',
    idempotency_key VARCHAR(255) PATH '$.idempotency_key',
    at_most_once    BOOLEAN      PATH '$.at_most_once',
    timeout_ms      BIGINT       PATH '$.timeout_ms' NULL ON EMPTY,
    reconcilable    BOOLEAN      PATH '$.reconcilable'
)) t
ORDER BY t.n
