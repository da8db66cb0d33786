-- Invoices due for sending (due date within N days of today, database
-- clock, UTC) and not yet sent, failed or in doubt. Binds: days
SELECT id FROM invoices
WHERE status IN ('pending','sending')
  AND due_date <= UTC_DATE() + INTERVAL ? DAY
ORDER BY id
