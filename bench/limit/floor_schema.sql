-- The floor: the least a job table can be and still hand each job to one
-- worker (graphile-worker's shape, reduced): no state column, no fence, no
-- lease index, no history — a claim stamps the row, a completion deletes it.
-- Used by `run.sh --shape floor` to show what no job system's SQL can beat on
-- this server; oncely keeps more than this on purpose (fenced leases, 24 h of
-- finished jobs).
CREATE TABLE floor_jobs (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    priority smallint NOT NULL DEFAULT 0,
    run_at timestamptz NOT NULL DEFAULT now(),
    attempts int NOT NULL DEFAULT 0,
    locked_at timestamptz,
    locked_by text,
    payload jsonb NOT NULL
);
CREATE INDEX floor_jobs_fetch ON floor_jobs (queue, priority, run_at, id);
