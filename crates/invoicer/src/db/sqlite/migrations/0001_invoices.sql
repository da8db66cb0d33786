-- invoicer SQLite schema, version 1: the application's own invoices table.
CREATE TABLE invoices (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        TEXT    NOT NULL CHECK (customer_id <> ''),
    amount_cents       INTEGER NOT NULL CHECK (amount_cents > 0),
    currency           TEXT    NOT NULL CHECK (length(currency) = 3 AND upper(currency) = currency),
    due_date           TEXT    NOT NULL CHECK (date(due_date) IS NOT NULL),
    status             TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending','sending','sent','in_doubt','failed')),
    sent_at            TEXT,
    provider_charge_id TEXT,
    failure_reason     TEXT,
    -- The largest oncely fencing token that wrote this row.
    fence              INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (status <> 'sent' OR provider_charge_id IS NOT NULL)
);
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE status IN ('pending','sending');
