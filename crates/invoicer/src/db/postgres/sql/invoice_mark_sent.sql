-- Fenced: records the provider's charge. Commits together with the job's
-- fenced completion. Also from 'pending': after a failover that lost the
-- attempt's take, the charge it made is real (the reconcile step found it).
-- $1 id, $2 token, $3 charge id
UPDATE invoices SET status = 'sent', provider_charge_id = $3, sent_at = now(), fence = $2, updated_at = now()
WHERE id = $1 AND fence <= $2 AND status IN ('pending','sending')
RETURNING id
