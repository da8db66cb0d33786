-- Creates an invoice due N days from today (UTC). Binds: customer, amount_cents, currency, days
INSERT INTO invoices (customer_id, amount_cents, currency, due_date)
VALUES (?, ?, ?, UTC_DATE() + INTERVAL ? DAY)
