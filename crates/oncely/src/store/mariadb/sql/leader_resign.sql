-- Binds: leader id, term
UPDATE oncely_leaders SET expires_at = UTC_TIMESTAMP(6)
WHERE name = 'default' AND leader_id = ? AND term = ? AND expires_at > UTC_TIMESTAMP(6)
