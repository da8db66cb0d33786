-- oncely PostgreSQL schema, version 10: the SQL API, contract version 1
-- (docs/sql-api.md). Any language enqueues with one statement inside its own
-- transaction: the job exists if and only if that transaction commits.
-- Input is checked exactly as the library checks an insert; a violation is
-- an error with SQLSTATE 'OY001' and the library's message. The functions
-- run with their owner's rights (the role that migrated), so an application
-- role needs only EXECUTE on them (granted to nobody else by default), not
-- write access to oncely's tables. They never decide what a worker runs: a
-- `command` job's program is checked by the worker's own allow list.

CREATE FUNCTION oncely_api_version() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;

-- Raises the API's validation error.
CREATE FUNCTION oncely_invalid(message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'OY001', MESSAGE = message,
        HINT = 'oncely_enqueue checks its input like the oncely library (docs/sql-api.md)';
END
$$;

CREATE FUNCTION oncely_enqueue(
    queue text,
    kind text,
    args jsonb DEFAULT '{}',
    unique_key text DEFAULT NULL,
    run_at timestamptz DEFAULT NULL,
    priority integer DEFAULT 0,
    max_attempts integer DEFAULT 20,
    at_most_once boolean DEFAULT false,
    idempotency_key text DEFAULT NULL,
    timeout_ms bigint DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
#variable_conflict use_variable
DECLARE
    size integer;
    reconcilable boolean := false;
    job_id bigint;
BEGIN
    IF queue IS NULL OR queue !~ '^[A-Za-z0-9_.-]{1,128}$' THEN
        PERFORM oncely_invalid(format('queue name %s is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . -',
                                      COALESCE(to_json(queue)::text, 'NULL')));
    END IF;
    IF kind IS NULL OR kind !~ '^[A-Za-z0-9_.:-]{1,128}$' THEN
        PERFORM oncely_invalid(format('job kind %s is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : -',
                                      COALESCE(to_json(kind)::text, 'NULL')));
    END IF;
    IF args IS NULL OR jsonb_typeof(args) NOT IN ('object', 'array') THEN
        PERFORM oncely_invalid('job args are invalid: args must be a JSON object or array');
    END IF;
    -- PostgreSQL's text form of the args (a space after each : and ,) is at
    -- least as long as the library's compact form: never more is accepted.
    size := octet_length(args::text);
    IF size > 1048576 THEN
        PERFORM oncely_invalid(format('job args are %s bytes, over the limit of 1048576 bytes', size));
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN 0 AND 9 THEN
        PERFORM oncely_invalid(format('priority %s is out of range 0..=9 (0 runs first)', COALESCE(priority::text, 'NULL')));
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 1000 THEN
        PERFORM oncely_invalid(format('max_attempts %s is out of range 1..=1000', COALESCE(max_attempts::text, 'NULL')));
    END IF;
    IF unique_key IS NOT NULL AND octet_length(unique_key) NOT BETWEEN 1 AND 512 THEN
        PERFORM oncely_invalid(format('unique key must be 1 to 512 bytes, got %s', octet_length(unique_key)));
    END IF;
    IF idempotency_key IS NOT NULL AND octet_length(idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM oncely_invalid(format('idempotency key must be 1 to 255 bytes, got %s', octet_length(idempotency_key)));
    END IF;
    IF timeout_ms IS NOT NULL AND timeout_ms <= 0 THEN
        PERFORM oncely_invalid('timeout must be positive');
    END IF;
    IF at_most_once IS NULL THEN
        PERFORM oncely_invalid('at_most_once must be true or false');
    END IF;
    -- A command job names its program as the library's CommandArgs do; one
    -- with a reconcile program is reconcilable.
    IF kind = 'command' THEN
        IF jsonb_typeof(args) <> 'object'
           OR jsonb_typeof(args->'argv') IS DISTINCT FROM 'array'
           OR jsonb_typeof(args->'argv'->0) IS DISTINCT FROM 'string'
           OR args->'argv'->>0 = ''
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(args->'argv') a WHERE jsonb_typeof(a) <> 'string') THEN
            PERFORM oncely_invalid('job args are invalid: a command job needs a program: {"argv": ["/path/to/program", "arg", ...]}');
        END IF;
        IF args ? 'reconcile' AND jsonb_typeof(args->'reconcile') <> 'null' THEN
            IF jsonb_typeof(args->'reconcile') <> 'array'
               OR jsonb_typeof(args->'reconcile'->0) IS DISTINCT FROM 'string'
               OR args->'reconcile'->>0 = ''
               OR EXISTS (SELECT 1 FROM jsonb_array_elements(args->'reconcile') a WHERE jsonb_typeof(a) <> 'string') THEN
                PERFORM oncely_invalid('job args are invalid: a reconcile program, when given, needs a name');
            END IF;
            reconcilable := true;
        END IF;
        IF args ? 'env' AND (jsonb_typeof(args->'env') <> 'object'
           OR EXISTS (SELECT 1 FROM jsonb_each(args->'env') e WHERE jsonb_typeof(e.value) <> 'string')) THEN
            PERFORM oncely_invalid('job args are invalid: env must be an object of strings');
        END IF;
    END IF;
    -- A holder of the unique key can finish between the insert and the
    -- read: then the insert is tried again.
    FOR i IN 1..3 LOOP
        INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                                 unique_key, idempotency_key, at_most_once, timeout_ms, reconcilable)
        VALUES (queue, kind, args,
                CASE WHEN run_at > now() THEN 'scheduled' ELSE 'available' END,
                priority, COALESCE(run_at, now()), max_attempts, unique_key,
                COALESCE(idempotency_key, gen_random_uuid()::text), at_most_once, timeout_ms,
                reconcilable)
        ON CONFLICT DO NOTHING
        RETURNING id INTO job_id;
        IF job_id IS NOT NULL THEN
            -- Delivered when the caller's transaction commits.
            PERFORM pg_notify('oncely_jobs', queue);
            RETURN job_id;
        END IF;
        SELECT j.id INTO job_id FROM oncely_jobs j
        WHERE j.unique_key = oncely_enqueue.unique_key
          AND j.state NOT IN ('completed', 'discarded', 'cancelled');
        IF job_id IS NOT NULL THEN
            RETURN job_id;
        END IF;
    END LOOP;
    RAISE EXCEPTION USING ERRCODE = '40001',
        MESSAGE = 'oncely_enqueue: the unique key''s holder kept changing; retry the transaction';
END
$$;

-- The state of job `id` (scheduled, available, running, retryable,
-- completed, discarded, cancelled, in_doubt), or NULL when no such job
-- exists (never inserted, rolled back, or pruned after its retention).
CREATE FUNCTION oncely_job_state(id bigint) RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$ SELECT j.state FROM oncely_jobs j WHERE j.id = oncely_job_state.id $$;

REVOKE ALL ON FUNCTION oncely_invalid(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION oncely_enqueue(text, text, jsonb, text, timestamptz, integer, integer, boolean, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION oncely_job_state(bigint) FROM PUBLIC;
