-- Fenced: the provider refused the charge for good. ?1 id, ?2 token, ?3 reason
UPDATE invoices SET status = 'failed', failure_reason = ?3, fence = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE id = ?1 AND fence <= ?2 AND status IN ('pending','sending')
RETURNING id
