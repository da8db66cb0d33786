-- Binds: name
DELETE FROM oncely_schedules WHERE name = ?
