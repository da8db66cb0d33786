-- The post's starting point: marks sent, no questions asked. $1 id, $2 charge id
UPDATE invoices SET status = 'sent', provider_charge_id = $2, sent_at = now(), updated_at = now() WHERE id = $1
