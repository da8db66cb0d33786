-- invoicer PostgreSQL schema, version 1: the application's own invoices table.
CREATE TABLE invoices (
    id                 BIGSERIAL   PRIMARY KEY,
    customer_id        TEXT        NOT NULL CHECK (customer_id <> ''),
    amount_cents       BIGINT      NOT NULL CHECK (amount_cents > 0),
    currency           TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    due_date           DATE        NOT NULL,
    status             TEXT        NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending','sending','sent','in_doubt','failed')),
    sent_at            TIMESTAMPTZ,
    provider_charge_id TEXT,
    failure_reason     TEXT,
    -- The largest oncely fencing token that wrote this row: a paused worker
    -- with an older token can no longer change it.
    fence              BIGINT      NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invoices_sent_has_charge CHECK (status <> 'sent' OR provider_charge_id IS NOT NULL)
);
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE status IN ('pending','sending');
