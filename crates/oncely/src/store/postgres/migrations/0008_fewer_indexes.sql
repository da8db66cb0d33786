-- oncely PostgreSQL schema, version 8: one index fewer on every state change.
-- oncely_jobs_state_queue (state, queue) took a new entry on every claim and
-- completion (a state change is never a HOT update); counts by queue and
-- state now scan the table, pruning uses oncely_jobs_finalized, listing by
-- state the primary key and oncely_jobs_in_doubt.
DROP INDEX oncely_jobs_state_queue;
