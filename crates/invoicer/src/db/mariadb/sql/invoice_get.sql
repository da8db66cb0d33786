-- One invoice. Binds: id
SELECT id, customer_id, amount_cents, currency, DATE_FORMAT(due_date, '%Y-%m-%d') AS due_date, status,
       provider_charge_id, failure_reason, fence
FROM invoices WHERE id = ?
