-- The post's starting point: every pending invoice due within ?1 days.
SELECT id FROM invoices
WHERE status = 'pending'
  AND due_date <= date('now', printf('%+d days', ?1))
ORDER BY id
