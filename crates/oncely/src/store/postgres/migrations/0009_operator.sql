-- oncely PostgreSQL schema, version 9: queues an operator paused, the
-- record of every operator action (who, when, why, on what, with what result)
-- and the workers seen recently; fencing tokens carry the timeline (below).
-- A queue with a row whose paused_at is set is not claimed from by any worker
-- (claims and reconcile claims check it in the same statement); the row
-- survives restarts. Resuming clears paused_at and keeps the row.
CREATE TABLE oncely_queues (
    name text PRIMARY KEY,
    paused_at timestamptz,
    paused_by text,
    pause_reason text,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Append-only. job_id or queue names what was acted on; outcome is the
-- state the job or queue was left in.
CREATE TABLE oncely_operator_actions (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    action text NOT NULL,
    job_id bigint,
    queue text,
    reason text NOT NULL,
    outcome text NOT NULL
);
CREATE INDEX oncely_operator_actions_job ON oncely_operator_actions (job_id, id)
    WHERE job_id IS NOT NULL;

-- Workers seen recently: each client records itself every heartbeat period
-- and marks itself stopped at a graceful shutdown (a crashed one just stops
-- being seen). Rows unseen for a day are deleted by the next beat.
CREATE TABLE oncely_workers (
    id text PRIMARY KEY,
    queues text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    stopped_at timestamptz
);

-- Fencing tokens carry an epoch: the server's timeline, which every
-- promotion of a standby increments. A token is (timeline << 40) + the next
-- value of oncely_fence_seq, so a token issued after a failover is greater
-- than every token issued before it, even when asynchronous replication lost
-- the old primary's last commits and the sequence hands out values again.
-- (2^40 tokens per timeline; the result stays below 2^53 up to timeline 8191.)
CREATE FUNCTION oncely_fence_epoch() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$ SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint $$;

-- Timelines whose lost claims have been settled. After a promotion the
-- server runs on a newer timeline than any recorded here; until a client
-- records it (oncely_epoch_settle), claims skip at-most-once and
-- reconcilable jobs — one of them may have been claimed, and acted on, on
-- the old primary in a commit that replication lost. Settling first holds
-- such jobs that were due in doubt (reconcilable ones are then reconciled).
CREATE TABLE oncely_epochs (
    epoch bigint PRIMARY KEY,
    settled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    held bigint NOT NULL DEFAULT 0
);
INSERT INTO oncely_epochs (epoch) SELECT oncely_fence_epoch();
