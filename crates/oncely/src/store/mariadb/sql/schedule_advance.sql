-- Binds: last period twice, next period, name, leader id, term
UPDATE oncely_schedules
SET last_period = GREATEST(COALESCE(last_period, ?), ?), next_period = ?
WHERE name = ? AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ? AND term = ?)
