-- One invoice. ?1 id
SELECT id, customer_id, amount_cents, currency, CAST(due_date AS TEXT) AS due_date, status,
       provider_charge_id, failure_reason, fence
FROM invoices WHERE id = ?1
