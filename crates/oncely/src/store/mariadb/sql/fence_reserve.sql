-- Reserves n fencing tokens; the statement reports the last one as its insert id.
-- Binds: n
UPDATE oncely_fence_counter SET value = LAST_INSERT_ID(value + ?) WHERE id = 1
