-- The HOT-completion layout, on top of oncely's own schema (run.sh --shape
-- hot): a completion writes one column that no index names, so PostgreSQL
-- can update the row in place on its page (a heap-only tuple: no new index
-- entries) instead of writing a new version with new index entries as
-- oncely's completion does (its state, lease and finalized_at are indexed or
-- in index predicates). To make that possible: the completion stamps
-- done_at and leaves state alone; the lease and finalized indexes go (the
-- rescuer and the pruner would need another way to find their rows); pages
-- are left half empty (fillfactor 50) so the new version fits beside the old.
-- Measured to answer whether a completion that writes less is the lever
-- (docs/benchmarks.md, "HOT completion"): it is not.
ALTER TABLE oncely_jobs ADD COLUMN done_at timestamptz;
DROP INDEX oncely_jobs_finalized;
DROP INDEX oncely_jobs_lease;
-- The completion finds its batch by the claim's worker stamp, unique per batch.
CREATE INDEX oncely_jobs_locked_by ON oncely_jobs (locked_by);
ALTER TABLE oncely_jobs SET (fillfactor = 50);
