-- The archive layout, on top of oncely's own schema (run.sh --shape archive):
-- finished jobs leave the hot table for a history table of the same columns,
-- so oncely_jobs holds only jobs still to run and the history keeps 24 h of
-- finished ones (pruned by finalized_at). Measured to answer whether moving
-- history out of the hot table lets a completion write less than oncely's
-- update in place does (docs/benchmarks.md, "The layout lever").
CREATE TABLE oncely_jobs_finished (LIKE oncely_jobs INCLUDING DEFAULTS);
ALTER TABLE oncely_jobs_finished ADD PRIMARY KEY (id);
CREATE INDEX oncely_jobs_finished_finalized ON oncely_jobs_finished (finalized_at);
