SELECT leader_id, term, elected_at, expires_at FROM oncely_leaders WHERE name = 'default'
