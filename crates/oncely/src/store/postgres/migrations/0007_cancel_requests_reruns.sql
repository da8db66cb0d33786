-- oncely PostgreSQL schema, version 7.
-- cancel_requested_at: an operator cancelled the job while an attempt ran. The
-- job stays `running` (its lease held) until that attempt has provably ended:
-- its worker stopped it and wrote `cancelled` (fenced), or its lease ran out
-- and the rescuer did. Until then nobody can claim or retry it.
-- reruns: attempts granted beyond max_attempts because a reconcile step found
-- that the last attempt's effect did not happen (at most the original max).
ALTER TABLE oncely_jobs ADD COLUMN cancel_requested_at TIMESTAMPTZ;
ALTER TABLE oncely_jobs ADD COLUMN reruns INTEGER NOT NULL DEFAULT 0;
