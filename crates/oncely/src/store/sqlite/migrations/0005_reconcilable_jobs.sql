-- oncely SQLite schema, version 5: the effect policy travels with the job.
-- A reconcilable job (always at-most-once too) is claimed for reconciliation
-- when in doubt by any worker of its kind that has a reconcile step, even if
-- the kind's policy is not reconcilable as a whole (command jobs carrying a
-- reconcile program). Schedules pass the flag to their jobs.
ALTER TABLE oncely_jobs ADD COLUMN reconcilable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE oncely_schedules ADD COLUMN reconcilable INTEGER NOT NULL DEFAULT 0;
