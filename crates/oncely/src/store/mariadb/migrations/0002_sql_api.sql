-- oncely MariaDB/MySQL schema, version 2: the SQL API, contract version 1
-- (docs/sql-api.md). MariaDB functions take no named or default arguments,
-- so the options come as one JSON object (or NULL):
--   SELECT oncely_enqueue('billing', 'invoice:send', '{"invoice": 42}',
--                         '{"unique_key": "invoice-42", "at_most_once": true}');
-- Input is checked exactly as the library checks an insert; a violation is
-- SIGNAL SQLSTATE 'OY001' with the library's message. SQL SECURITY DEFINER:
-- a caller needs only EXECUTE on the functions. Each function is dropped and
-- created again, so the migration can run again after being cut short.

DROP FUNCTION IF EXISTS oncely_api_version
-- statement
CREATE FUNCTION oncely_api_version() RETURNS INT DETERMINISTIC NO SQL RETURN 1
-- statement
DROP FUNCTION IF EXISTS oncely_enqueue
-- statement
CREATE FUNCTION oncely_enqueue(
    p_queue   TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    p_kind    TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    p_args    LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    p_options LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
) RETURNS BIGINT
NOT DETERMINISTIC
MODIFIES SQL DATA
SQL SECURITY DEFINER
BEGIN
    DECLARE v_unique_key TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
    DECLARE v_idempotency_key TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
    DECLARE v_run_at DATETIME(6) DEFAULT NULL;
    DECLARE v_priority BIGINT DEFAULT 0;
    DECLARE v_max_attempts BIGINT DEFAULT 20;
    DECLARE v_at_most_once BOOLEAN DEFAULT FALSE;
    DECLARE v_timeout_ms BIGINT DEFAULT NULL;
    DECLARE v_reconcilable BOOLEAN DEFAULT FALSE;
    DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
    DECLARE v_message TEXT DEFAULT NULL;
    DECLARE v_duplicate BOOLEAN DEFAULT FALSE;
    DECLARE v_id BIGINT DEFAULT NULL;
    DECLARE v_tries INT DEFAULT 0;
    DECLARE CONTINUE HANDLER FOR 1062 SET v_duplicate = TRUE;

    IF p_args IS NULL THEN
        SET p_args = '{}';
    END IF;
    IF p_options IS NOT NULL AND (NOT JSON_VALID(p_options) OR JSON_TYPE(p_options) <> 'OBJECT') THEN
        SET v_message = 'options must be a JSON object (or NULL)';
    ELSEIF p_options IS NOT NULL THEN
        SET v_unique_key = JSON_UNQUOTE(JSON_EXTRACT(p_options, '$.unique_key'));
        SET v_idempotency_key = JSON_UNQUOTE(JSON_EXTRACT(p_options, '$.idempotency_key'));
        IF JSON_TYPE(JSON_EXTRACT(p_options, '$.unique_key')) = 'NULL' THEN SET v_unique_key = NULL; END IF;
        IF JSON_TYPE(JSON_EXTRACT(p_options, '$.idempotency_key')) = 'NULL' THEN SET v_idempotency_key = NULL; END IF;
        IF JSON_EXTRACT(p_options, '$.priority') IS NOT NULL THEN
            SET v_priority = JSON_EXTRACT(p_options, '$.priority');
        END IF;
        IF JSON_EXTRACT(p_options, '$.max_attempts') IS NOT NULL THEN
            SET v_max_attempts = JSON_EXTRACT(p_options, '$.max_attempts');
        END IF;
        IF JSON_EXTRACT(p_options, '$.timeout_ms') IS NOT NULL
           AND JSON_TYPE(JSON_EXTRACT(p_options, '$.timeout_ms')) <> 'NULL' THEN
            SET v_timeout_ms = JSON_EXTRACT(p_options, '$.timeout_ms');
        END IF;
        IF JSON_EXTRACT(p_options, '$.at_most_once') IS NOT NULL THEN
            SET v_at_most_once = JSON_EXTRACT(p_options, '$.at_most_once') = 'true';
        END IF;
        IF JSON_EXTRACT(p_options, '$.run_at') IS NOT NULL
           AND JSON_TYPE(JSON_EXTRACT(p_options, '$.run_at')) <> 'NULL' THEN
            -- An instant in UTC: 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
            BEGIN
                DECLARE CONTINUE HANDLER FOR SQLSTATE '22007' SET v_run_at = NULL;
                DECLARE CONTINUE HANDLER FOR 1292 SET v_run_at = NULL;
                SET v_run_at = CAST(JSON_UNQUOTE(JSON_EXTRACT(p_options, '$.run_at')) AS DATETIME(6));
            END;
            IF v_run_at IS NULL THEN
                SET v_message = 'run_at must be a UTC time as ''YYYY-MM-DD HH:MM:SS[.ffffff]''';
            END IF;
        END IF;
    END IF;

    IF v_message IS NOT NULL THEN
        SET v_message = v_message;
    ELSEIF p_queue IS NULL OR CHAR_LENGTH(p_queue) NOT BETWEEN 1 AND 128
           OR p_queue NOT REGEXP '^[A-Za-z0-9_.-]+$' THEN
        SET v_message = CONCAT('queue name ', IFNULL(JSON_QUOTE(p_queue), 'NULL'),
                               ' is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . -');
    ELSEIF p_kind IS NULL OR CHAR_LENGTH(p_kind) NOT BETWEEN 1 AND 128
           OR p_kind NOT REGEXP '^[A-Za-z0-9_.:-]+$' THEN
        SET v_message = CONCAT('job kind ', IFNULL(JSON_QUOTE(p_kind), 'NULL'),
                               ' is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : -');
    ELSEIF NOT JSON_VALID(p_args) OR JSON_TYPE(p_args) NOT IN ('OBJECT', 'ARRAY') THEN
        SET v_message = 'job args are invalid: args must be a JSON object or array';
    ELSEIF OCTET_LENGTH(p_args) > 1048576 THEN
        SET v_message = CONCAT('job args are ', OCTET_LENGTH(p_args), ' bytes, over the limit of 1048576 bytes');
    ELSEIF INSTR(p_args, '\\u0000') > 0 THEN
        SET v_message = 'job args contains a NUL character (\\u0000), which cannot be stored';
    ELSEIF v_priority IS NULL OR v_priority NOT BETWEEN 0 AND 9 THEN
        SET v_message = CONCAT('priority ', IFNULL(v_priority, 'NULL'), ' is out of range 0..=9 (0 runs first)');
    ELSEIF v_max_attempts IS NULL OR v_max_attempts NOT BETWEEN 1 AND 1000 THEN
        SET v_message = CONCAT('max_attempts ', IFNULL(v_max_attempts, 'NULL'), ' is out of range 1..=1000');
    ELSEIF v_unique_key IS NOT NULL AND OCTET_LENGTH(v_unique_key) NOT BETWEEN 1 AND 512 THEN
        SET v_message = CONCAT('unique key must be 1 to 512 bytes, got ', OCTET_LENGTH(v_unique_key));
    ELSEIF v_idempotency_key IS NOT NULL AND OCTET_LENGTH(v_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        SET v_message = CONCAT('idempotency key must be 1 to 255 bytes, got ', OCTET_LENGTH(v_idempotency_key));
    ELSEIF v_timeout_ms IS NOT NULL AND v_timeout_ms <= 0 THEN
        SET v_message = 'timeout must be positive';
    ELSEIF p_kind = 'command' THEN
        IF JSON_TYPE(p_args) <> 'OBJECT'
           OR IFNULL(JSON_TYPE(JSON_EXTRACT(p_args, '$.argv')), '') <> 'ARRAY'
           OR IFNULL(JSON_TYPE(JSON_EXTRACT(p_args, '$.argv[0]')), '') <> 'STRING'
           OR JSON_UNQUOTE(JSON_EXTRACT(p_args, '$.argv[0]')) = '' THEN
            SET v_message = 'job args are invalid: a command job needs a program: {"argv": ["/path/to/program", "arg", ...]}';
        ELSEIF JSON_EXTRACT(p_args, '$.reconcile') IS NOT NULL
               AND JSON_TYPE(JSON_EXTRACT(p_args, '$.reconcile')) <> 'NULL' THEN
            IF JSON_TYPE(JSON_EXTRACT(p_args, '$.reconcile')) <> 'ARRAY'
               OR IFNULL(JSON_TYPE(JSON_EXTRACT(p_args, '$.reconcile[0]')), '') <> 'STRING'
               OR JSON_UNQUOTE(JSON_EXTRACT(p_args, '$.reconcile[0]')) = '' THEN
                SET v_message = 'job args are invalid: a reconcile program, when given, needs a name';
            ELSE
                SET v_reconcilable = TRUE;
            END IF;
        END IF;
    END IF;
    IF v_message IS NOT NULL THEN
        SIGNAL SQLSTATE 'OY001' SET MESSAGE_TEXT = v_message;
    END IF;

    -- A holder of the unique key can finish between the insert and the
    -- read: then the insert is tried again.
    WHILE v_tries < 3 DO
        SET v_tries = v_tries + 1;
        SET v_duplicate = FALSE;
        INSERT INTO oncely_jobs (queue, kind, args, state, priority, run_at, max_attempts,
                                 unique_key, idempotency_key, at_most_once, timeout_ms,
                                 reconcilable, created_at)
        VALUES (p_queue, p_kind, p_args,
                IF(v_run_at > v_now, 'scheduled', 'available'),
                v_priority, IFNULL(v_run_at, v_now), v_max_attempts, v_unique_key,
                IFNULL(v_idempotency_key, UUID()), v_at_most_once, v_timeout_ms,
                v_reconcilable, v_now);
        IF NOT v_duplicate THEN
            RETURN LAST_INSERT_ID();
        END IF;
        -- A locking read sees the latest committed holder, whatever the
        -- caller's snapshot.
        SET v_id = (SELECT id FROM oncely_jobs WHERE unique_key_held = v_unique_key LOCK IN SHARE MODE);
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
    END WHILE;
    SIGNAL SQLSTATE '40001'
        SET MESSAGE_TEXT = 'oncely_enqueue: the unique key''s holder kept changing; retry the transaction';
END
-- statement
DROP FUNCTION IF EXISTS oncely_job_state
-- statement
CREATE FUNCTION oncely_job_state(p_id BIGINT) RETURNS VARCHAR(16)
NOT DETERMINISTIC
READS SQL DATA
SQL SECURITY DEFINER
RETURN (SELECT state FROM oncely_jobs WHERE id = p_id)
