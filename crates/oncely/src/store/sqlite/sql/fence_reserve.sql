-- Reserves ?1 fencing tokens; returns the last one reserved.
UPDATE oncely_fence_counter SET value = value + ?1 WHERE id = 1 RETURNING value
