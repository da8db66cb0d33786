-- oncely PostgreSQL schema, version 6: inserts no longer notify from a
-- per-row trigger (every notifying commit takes the notification queue lock);
-- the inserting driver notifies at most once per queue every few
-- milliseconds, in the inserting transaction. State changes back to
-- 'available' (retry now, released leases) still notify from their trigger.
DROP TRIGGER oncely_jobs_notify_insert ON oncely_jobs;
