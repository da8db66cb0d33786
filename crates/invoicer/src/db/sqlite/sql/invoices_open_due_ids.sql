-- Invoices due for sending (due date within ?1 days of today, database
-- clock) and not yet sent, failed or in doubt.
SELECT id FROM invoices
WHERE status IN ('pending','sending')
  AND due_date <= date('now', printf('%+d days', ?1))
ORDER BY id
