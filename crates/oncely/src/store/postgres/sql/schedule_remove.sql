-- Removes a schedule (its firing records stay). $1 name
DELETE FROM oncely_schedules WHERE name = $1 RETURNING name
