-- Fenced: an attempt takes the invoice (only with a larger token than any
-- earlier writer). Binds: token, id, token
UPDATE invoices SET status = 'sending', fence = ?, updated_at = UTC_TIMESTAMP(6)
WHERE id = ? AND fence < ? AND status IN ('pending','sending')
