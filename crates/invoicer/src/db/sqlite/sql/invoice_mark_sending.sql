-- Fenced: an attempt takes the invoice (only with a larger token than any
-- earlier writer). ?1 id, ?2 token
UPDATE invoices SET status = 'sending', fence = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE id = ?1 AND fence < ?2 AND status IN ('pending','sending')
RETURNING id
