-- oncely SQLite schema, version 7 (PostgreSQL's version 9): queues an operator
-- paused, and the record of every operator action (who, when, why, on what,
-- with what result). A queue with a row whose paused_at is set is not claimed
-- from (claims check it in the same statement); the row survives restarts.
CREATE TABLE oncely_queues (
    name TEXT PRIMARY KEY,
    paused_at TEXT,
    paused_by TEXT,
    pause_reason TEXT,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Append-only. job_id or queue names what was acted on; outcome is the
-- state the job or queue was left in.
CREATE TABLE oncely_operator_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    job_id INTEGER,
    queue TEXT,
    reason TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX oncely_operator_actions_job ON oncely_operator_actions (job_id, id)
    WHERE job_id IS NOT NULL;

-- Workers seen recently: each client records itself every heartbeat period
-- and marks itself stopped at a graceful shutdown (a crashed one just stops
-- being seen). Rows unseen for a day are deleted by the next beat.
CREATE TABLE oncely_workers (
    id TEXT PRIMARY KEY,
    queues TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    stopped_at TEXT
);
