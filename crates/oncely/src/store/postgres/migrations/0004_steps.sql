-- oncely PostgreSQL schema, version 4: recovery points. A finished step's
-- result is stored, fenced on the attempt that produced it; later attempts
-- replay it. Deleted with their job.
CREATE TABLE oncely_job_steps (
    job_id     BIGINT      NOT NULL REFERENCES oncely_jobs (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    result     JSONB       NOT NULL,
    fence      BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, name)
);
