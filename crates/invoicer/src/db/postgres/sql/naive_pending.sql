-- The post's starting point: every pending invoice due within $1 days.
SELECT id FROM invoices
WHERE status = 'pending'
  AND due_date <= current_date + $1::int
ORDER BY id
