-- oncely PostgreSQL schema, version 8: indexes that keep fenced writes on the
-- primary key, and one index fewer on every state change.
--
-- oncely_jobs_state_queue (state, queue) took a new entry on every claim and
-- completion (a state change is never a HOT update); counts by queue and
-- state now scan the table, pruning uses oncely_jobs_finalized, listing by
-- state the primary key and oncely_jobs_in_doubt.
--
-- oncely_jobs_lease was partial on state = 'running', which every fenced
-- write (`... AND state = 'running'`) implies: with statistics stale or absent
-- the planner read that whole index — every running job, plus the dead
-- entries of every job that ran since the last vacuum — to hash-join a batch
-- of completions (16 ms per batch of 146 at a 200,000-job backlog) instead of
-- looking each job up by its id. Only running jobs hold a lease (every write
-- that leaves `running` clears it), so the same rows are indexed under a
-- predicate no fenced write implies. The rescuer's `lease_expires_at < now`
-- still implies it.
DROP INDEX oncely_jobs_state_queue;
DROP INDEX oncely_jobs_lease;
CREATE INDEX oncely_jobs_lease ON oncely_jobs (lease_expires_at)
    WHERE lease_expires_at IS NOT NULL;
