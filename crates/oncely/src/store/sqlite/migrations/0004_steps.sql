-- oncely SQLite schema, version 4: recovery points. A finished step's
-- result is stored, fenced on the attempt that produced it; later attempts
-- replay it. Deleted with their job.
CREATE TABLE oncely_job_steps (
    job_id     INTEGER NOT NULL REFERENCES oncely_jobs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    result     TEXT    NOT NULL CHECK (json_valid(result)),
    fence      INTEGER NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (job_id, name)
);
