-- oncely MariaDB/MySQL schema, version 1: the same tables as PostgreSQL's
-- version 10, in MariaDB's terms. Times are UTC in DATETIME(6) (written with
-- UTC_TIMESTAMP(6), never the session's time zone); JSON is text checked by
-- JSON_VALID; a partial index becomes a generated column that is NULL for
-- the rows the index leaves out. Statements are separated by lines holding
-- only `-- statement` (DDL commits on its own in MariaDB: each runs apart,
-- and each can run again, so a migration cut short completes on the next run).

CREATE TABLE IF NOT EXISTS oncely_jobs (
    id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    queue               VARCHAR(128) NOT NULL,
    kind                VARCHAR(128) NOT NULL,
    args                LONGTEXT     NOT NULL,
    state               VARCHAR(16)  NOT NULL,
    priority            SMALLINT     NOT NULL DEFAULT 0,
    run_at              DATETIME(6)  NOT NULL,
    attempt             INT          NOT NULL DEFAULT 0,
    max_attempts        INT          NOT NULL,
    fence               BIGINT       NOT NULL DEFAULT 0,
    lease_expires_at    DATETIME(6)  NULL,
    locked_by           VARCHAR(255) NULL,
    at_most_once        BOOLEAN      NOT NULL DEFAULT FALSE,
    unique_key          VARCHAR(512) NULL,
    idempotency_key     VARCHAR(255) NOT NULL,
    timeout_ms          BIGINT       NULL,
    errors              LONGTEXT     NOT NULL DEFAULT ('[]'),
    created_at          DATETIME(6)  NOT NULL,
    attempted_at        DATETIME(6)  NULL,
    finalized_at        DATETIME(6)  NULL,
    reconciling         BOOLEAN      NOT NULL DEFAULT FALSE,
    reconcilable        BOOLEAN      NOT NULL DEFAULT FALSE,
    cancel_requested_at DATETIME(6)  NULL,
    reruns              INT          NOT NULL DEFAULT 0,
    -- The unique key while the job is not final (NULLs never collide).
    unique_key_held     VARCHAR(512) AS (IF(state IN ('completed', 'discarded', 'cancelled'), NULL, unique_key)) STORED,
    -- The queue while the job waits to be claimed.
    waiting_in          VARCHAR(128) AS (IF(state IN ('scheduled', 'available', 'retryable'), queue, NULL)) STORED,
    CONSTRAINT oncely_jobs_args_json CHECK (JSON_VALID(args)),
    CONSTRAINT oncely_jobs_errors_json CHECK (JSON_VALID(errors)),
    CONSTRAINT oncely_jobs_state_valid CHECK (state IN
        ('scheduled','available','running','retryable','completed','discarded','cancelled','in_doubt')),
    CONSTRAINT oncely_jobs_priority_valid CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT oncely_jobs_attempts_valid CHECK (attempt >= 0 AND max_attempts >= 1),
    CONSTRAINT oncely_jobs_running_has_lease CHECK (state <> 'running' OR lease_expires_at IS NOT NULL),
    UNIQUE KEY oncely_jobs_unique_key (unique_key_held),
    KEY oncely_jobs_fetch (waiting_in, priority, run_at, id),
    KEY oncely_jobs_lease (state, lease_expires_at),
    KEY oncely_jobs_state_queue (state, queue),
    KEY oncely_jobs_finalized (finalized_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
-- Fencing tokens: one counter row, advanced inside the claiming transaction
-- (`UPDATE … SET value = LAST_INSERT_ID(value + n)`), so tokens only grow.
CREATE TABLE IF NOT EXISTS oncely_fence_counter (
    id    TINYINT NOT NULL PRIMARY KEY,
    value BIGINT  NOT NULL,
    CONSTRAINT oncely_fence_counter_one CHECK (id = 1)
) ENGINE = InnoDB
-- statement
INSERT IGNORE INTO oncely_fence_counter (id, value) VALUES (1, 0)
-- statement
CREATE TABLE IF NOT EXISTS oncely_schedules (
    name         VARCHAR(128) NOT NULL PRIMARY KEY,
    spec         LONGTEXT     NOT NULL CHECK (JSON_VALID(spec)),
    queue        VARCHAR(128) NOT NULL,
    kind         VARCHAR(128) NOT NULL,
    args         LONGTEXT     NOT NULL CHECK (JSON_VALID(args)),
    at_most_once BOOLEAN      NOT NULL DEFAULT FALSE,
    reconcilable BOOLEAN      NOT NULL DEFAULT FALSE,
    max_attempts INT          NOT NULL,
    catch_up     LONGTEXT     NOT NULL CHECK (JSON_VALID(catch_up)),
    last_period  DATETIME(6)  NULL,
    next_period  DATETIME(6)  NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_schedule_firings (
    schedule     VARCHAR(128) NOT NULL,
    period_start DATETIME(6)  NOT NULL,
    job_id       BIGINT       NULL,
    fired_by     VARCHAR(255) NOT NULL,
    fired_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (schedule, period_start)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_leaders (
    name       VARCHAR(128) NOT NULL PRIMARY KEY,
    leader_id  VARCHAR(255) NOT NULL,
    term       BIGINT       NOT NULL,
    elected_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_job_steps (
    job_id     BIGINT       NOT NULL,
    name       VARCHAR(255) NOT NULL,
    result     LONGTEXT     NOT NULL CHECK (JSON_VALID(result)),
    fence      BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (job_id, name),
    CONSTRAINT oncely_job_steps_job FOREIGN KEY (job_id) REFERENCES oncely_jobs (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_queues (
    name         VARCHAR(128) NOT NULL PRIMARY KEY,
    paused_at    DATETIME(6)  NULL,
    paused_by    VARCHAR(255) NULL,
    pause_reason TEXT         NULL,
    updated_at   DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_operator_actions (
    id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at      DATETIME(6)  NOT NULL,
    actor   VARCHAR(255) NOT NULL,
    action  VARCHAR(64)  NOT NULL,
    job_id  BIGINT       NULL,
    queue   VARCHAR(128) NULL,
    reason  TEXT         NOT NULL,
    outcome VARCHAR(64)  NOT NULL,
    KEY oncely_operator_actions_job (job_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
-- statement
CREATE TABLE IF NOT EXISTS oncely_workers (
    id           VARCHAR(255) NOT NULL PRIMARY KEY,
    queues       TEXT         NOT NULL,
    started_at   DATETIME(6)  NOT NULL,
    last_seen_at DATETIME(6)  NOT NULL,
    stopped_at   DATETIME(6)  NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
