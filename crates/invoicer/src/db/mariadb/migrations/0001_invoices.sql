-- invoicer MariaDB schema, version 1: the application's own invoices table.
CREATE TABLE IF NOT EXISTS invoices (
    id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id        VARCHAR(255) NOT NULL CHECK (customer_id <> ''),
    amount_cents       BIGINT       NOT NULL CHECK (amount_cents > 0),
    currency           CHAR(3)      NOT NULL CHECK (currency = UPPER(currency)),
    due_date           DATE         NOT NULL,
    status             VARCHAR(16)  NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending','sending','sent','in_doubt','failed')),
    sent_at            DATETIME(6)  NULL,
    provider_charge_id VARCHAR(255) NULL,
    failure_reason     TEXT         NULL,
    -- The largest oncely fencing token that wrote this row.
    fence              BIGINT       NOT NULL DEFAULT 0,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT invoices_sent_has_charge CHECK (status <> 'sent' OR provider_charge_id IS NOT NULL),
    KEY invoices_open_due (status, due_date)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
