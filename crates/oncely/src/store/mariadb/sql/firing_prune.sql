-- Deletes a batch of old schedule firings, by the leader. Binds:
-- microseconds back, leader id, term, batch
DELETE FROM oncely_schedule_firings
WHERE fired_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND
  AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ? AND term = ?)
ORDER BY fired_at
LIMIT ?
