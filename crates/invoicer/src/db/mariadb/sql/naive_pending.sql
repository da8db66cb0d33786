-- The post's starting point: every pending invoice due within N days. Binds: days
SELECT id FROM invoices
WHERE status = 'pending'
  AND due_date <= UTC_DATE() + INTERVAL ? DAY
ORDER BY id
