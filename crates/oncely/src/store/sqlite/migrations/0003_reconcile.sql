-- oncely SQLite schema, version 3: in-doubt jobs can be claimed to run
-- their kind's reconcile step instead of the work itself.
ALTER TABLE oncely_jobs ADD COLUMN reconciling INTEGER NOT NULL DEFAULT 0;
CREATE INDEX oncely_jobs_in_doubt ON oncely_jobs (queue, run_at) WHERE state = 'in_doubt';
