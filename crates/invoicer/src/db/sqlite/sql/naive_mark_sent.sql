-- The post's starting point: marks sent, no questions asked. ?1 id, ?2 charge id
UPDATE invoices SET status = 'sent', provider_charge_id = ?2, sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1
