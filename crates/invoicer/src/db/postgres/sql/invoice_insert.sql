-- Creates an invoice due $4 days from today. $1 customer, $2 amount_cents, $3 currency
INSERT INTO invoices (customer_id, amount_cents, currency, due_date)
VALUES ($1, $2, $3, current_date + $4::int)
RETURNING id
