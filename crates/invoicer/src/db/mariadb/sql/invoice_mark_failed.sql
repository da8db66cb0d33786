-- Fenced: the provider refused the charge for good. Binds: reason, token, id, token
UPDATE invoices SET status = 'failed', failure_reason = ?, fence = ?, updated_at = UTC_TIMESTAMP(6)
WHERE id = ? AND fence <= ? AND status IN ('pending','sending')
