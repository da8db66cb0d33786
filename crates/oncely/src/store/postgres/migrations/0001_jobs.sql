-- oncely PostgreSQL schema, version 1: jobs, fencing tokens, wake-up notifications.

CREATE SEQUENCE oncely_fence_seq;

CREATE TABLE oncely_jobs (
    id               BIGSERIAL   PRIMARY KEY,
    queue            TEXT        NOT NULL,
    kind             TEXT        NOT NULL,
    args             JSONB       NOT NULL,
    state            TEXT        NOT NULL,
    priority         SMALLINT    NOT NULL DEFAULT 0,
    run_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempt          INTEGER     NOT NULL DEFAULT 0,
    max_attempts     INTEGER     NOT NULL,
    fence            BIGINT      NOT NULL DEFAULT 0,
    lease_expires_at TIMESTAMPTZ,
    locked_by        TEXT,
    at_most_once     BOOLEAN     NOT NULL DEFAULT false,
    unique_key       TEXT,
    idempotency_key  TEXT        NOT NULL,
    timeout_ms       BIGINT,
    errors           JSONB       NOT NULL DEFAULT '[]',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempted_at     TIMESTAMPTZ,
    finalized_at     TIMESTAMPTZ,
    CONSTRAINT oncely_jobs_state_valid CHECK (state IN
        ('scheduled','available','running','retryable','completed','discarded','cancelled','in_doubt')),
    CONSTRAINT oncely_jobs_priority_valid CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT oncely_jobs_attempts_valid CHECK (attempt >= 0 AND max_attempts >= 1),
    CONSTRAINT oncely_jobs_running_has_lease CHECK (state <> 'running' OR lease_expires_at IS NOT NULL)
);

CREATE UNIQUE INDEX oncely_jobs_unique_key ON oncely_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('completed','discarded','cancelled');

CREATE INDEX oncely_jobs_fetch ON oncely_jobs (queue, priority, run_at, id)
    WHERE state IN ('scheduled','available','retryable');

CREATE INDEX oncely_jobs_lease ON oncely_jobs (lease_expires_at)
    WHERE state = 'running';

CREATE INDEX oncely_jobs_state_queue ON oncely_jobs (state, queue);

-- Wakes idle workers when a job becomes available; delivered at commit, so a
-- job inserted in a transaction that rolls back wakes nobody.
CREATE FUNCTION oncely_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oncely_jobs', NEW.queue);
    RETURN NULL;
END;
$$;

CREATE TRIGGER oncely_jobs_notify_insert AFTER INSERT ON oncely_jobs
    FOR EACH ROW WHEN (NEW.state = 'available') EXECUTE FUNCTION oncely_jobs_notify();

CREATE TRIGGER oncely_jobs_notify_update AFTER UPDATE OF state ON oncely_jobs
    FOR EACH ROW WHEN (NEW.state = 'available' AND OLD.state <> 'available')
    EXECUTE FUNCTION oncely_jobs_notify();
