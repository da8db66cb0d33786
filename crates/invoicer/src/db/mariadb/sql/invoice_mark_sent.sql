-- Fenced: records the provider's charge. Commits together with the job's
-- fenced completion. Also from 'pending' (see the PostgreSQL version).
-- Binds: charge id, token, id, token
UPDATE invoices SET status = 'sent', provider_charge_id = ?, sent_at = UTC_TIMESTAMP(6), fence = ?, updated_at = UTC_TIMESTAMP(6)
WHERE id = ? AND fence <= ? AND status IN ('pending','sending')
