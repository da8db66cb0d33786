-- Reserves n fencing tokens (LAST_INSERT_ID() then returns the last one).
-- Binds: n
UPDATE oncely_fence_counter SET value = LAST_INSERT_ID(value + ?) WHERE id = 1
