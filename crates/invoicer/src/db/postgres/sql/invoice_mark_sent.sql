-- Fenced: records the provider's charge. Commits together with the job's
-- fenced completion. $1 id, $2 token, $3 charge id
UPDATE invoices SET status = 'sent', provider_charge_id = $3, sent_at = now(), fence = $2, updated_at = now()
WHERE id = $1 AND fence <= $2 AND status = 'sending'
RETURNING id
