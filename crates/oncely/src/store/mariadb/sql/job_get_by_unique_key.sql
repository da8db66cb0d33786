-- The non-final holder of a unique key, read with a lock (the latest
-- committed version). Binds: unique_key
SELECT * FROM oncely_jobs WHERE unique_key_held = ? LOCK IN SHARE MODE
