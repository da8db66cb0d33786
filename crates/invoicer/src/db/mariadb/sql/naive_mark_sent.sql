-- The post's starting point: marks sent, no questions asked. Binds: charge id, id
UPDATE invoices SET status = 'sent', provider_charge_id = ?, sent_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) WHERE id = ?
