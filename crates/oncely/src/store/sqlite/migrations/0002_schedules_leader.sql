-- oncely SQLite schema, version 2: periodic schedules, their durable
-- once-per-period firings, leader election, and an index for the pruner.

CREATE TABLE oncely_schedules (
    name         TEXT    PRIMARY KEY,
    spec         TEXT    NOT NULL CHECK (json_valid(spec)),
    queue        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    args         TEXT    NOT NULL CHECK (json_valid(args)),
    at_most_once INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    catch_up     TEXT    NOT NULL CHECK (json_valid(catch_up)),
    last_period  TEXT,
    next_period  TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

-- One row per fired period: the primary key is the once-per-period guarantee.
-- No foreign key to jobs: these rows outlive the pruning of old jobs.
CREATE TABLE oncely_schedule_firings (
    schedule     TEXT NOT NULL,
    period_start TEXT NOT NULL,
    job_id       INTEGER,
    fired_by     TEXT NOT NULL,
    fired_at     TEXT NOT NULL,
    PRIMARY KEY (schedule, period_start)
);

CREATE TABLE oncely_leaders (
    name       TEXT    PRIMARY KEY,
    leader_id  TEXT    NOT NULL,
    term       INTEGER NOT NULL,
    elected_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
);

CREATE INDEX oncely_jobs_finalized ON oncely_jobs (finalized_at)
    WHERE state IN ('completed','discarded','cancelled');
