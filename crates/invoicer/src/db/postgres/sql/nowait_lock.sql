-- The post's fix: lock the pending invoice, failing at once if another
-- server holds it (55P03 lock_not_available). $1 id
SELECT id FROM invoices WHERE id = $1 AND status = 'pending' FOR UPDATE NOWAIT
