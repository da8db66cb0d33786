-- Records a firing by the current leader (first wins). Binds: schedule,
-- period start, leader id, leader id, term
INSERT IGNORE INTO oncely_schedule_firings (schedule, period_start, fired_by, fired_at)
SELECT ?, ?, ?, UTC_TIMESTAMP(6) FROM DUAL
WHERE EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ? AND term = ?)
