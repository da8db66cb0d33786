-- Invoices due for sending (due date within $1 days of today, database
-- clock) and not yet sent, failed or in doubt.
SELECT id FROM invoices
WHERE status IN ('pending','sending')
  AND due_date <= current_date + $1::int
ORDER BY id
