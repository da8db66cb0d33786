-- oncely SQLite schema, version 1: jobs and the fencing-token counter.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.SSSZ' from the database clock,
-- so they sort as strings.

CREATE TABLE oncely_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    args             TEXT    NOT NULL CHECK (json_valid(args)),
    state            TEXT    NOT NULL CHECK (state IN ('scheduled','available','running','retryable','completed','discarded','cancelled','in_doubt')),
    priority         INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    run_at           TEXT    NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    fence            INTEGER NOT NULL DEFAULT 0,
    lease_expires_at TEXT,
    locked_by        TEXT,
    at_most_once     INTEGER NOT NULL DEFAULT 0,
    unique_key       TEXT,
    idempotency_key  TEXT    NOT NULL,
    timeout_ms       INTEGER,
    errors           TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(errors)),
    created_at       TEXT    NOT NULL,
    attempted_at     TEXT,
    finalized_at     TEXT,
    CHECK (state <> 'running' OR lease_expires_at IS NOT NULL)
);

CREATE UNIQUE INDEX oncely_jobs_unique_key ON oncely_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('completed','discarded','cancelled');

CREATE INDEX oncely_jobs_fetch ON oncely_jobs (queue, priority, run_at, id)
    WHERE state IN ('scheduled','available','retryable');

CREATE INDEX oncely_jobs_lease ON oncely_jobs (lease_expires_at)
    WHERE state = 'running';

CREATE INDEX oncely_jobs_state_queue ON oncely_jobs (state, queue);

-- Fencing tokens come from one counter, so they grow across all jobs.
CREATE TABLE oncely_fence_counter (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO oncely_fence_counter (id, value) VALUES (1, 0);
