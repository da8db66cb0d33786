-- oncely PostgreSQL schema, version 2: periodic schedules, their durable
-- once-per-period firings, leader election, and an index for the pruner.

CREATE TABLE oncely_schedules (
    name         TEXT        PRIMARY KEY,
    spec         JSONB       NOT NULL,
    queue        TEXT        NOT NULL,
    kind         TEXT        NOT NULL,
    args         JSONB       NOT NULL,
    at_most_once BOOLEAN     NOT NULL DEFAULT false,
    max_attempts INTEGER     NOT NULL,
    catch_up     JSONB       NOT NULL,
    last_period  TIMESTAMPTZ,
    next_period  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per fired period: the primary key is the once-per-period guarantee.
-- No foreign key to jobs: these rows outlive the pruning of old jobs.
CREATE TABLE oncely_schedule_firings (
    schedule     TEXT        NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    job_id       BIGINT,
    fired_by     TEXT        NOT NULL,
    fired_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, period_start)
);

CREATE TABLE oncely_leaders (
    name       TEXT        PRIMARY KEY,
    leader_id  TEXT        NOT NULL,
    term       BIGINT      NOT NULL,
    elected_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX oncely_jobs_finalized ON oncely_jobs (finalized_at)
    WHERE state IN ('completed','discarded','cancelled');

-- A resignation wakes the other servers so one takes over at once.
CREATE FUNCTION oncely_leader_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oncely_leader', NEW.leader_id);
    RETURN NULL;
END;
$$;

-- Resigning ends the lease early (the row and its term stay, so terms never
-- go back): a shortened lease is a resignation.
CREATE TRIGGER oncely_leader_resigned AFTER UPDATE ON oncely_leaders
    FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at) EXECUTE FUNCTION oncely_leader_notify();
