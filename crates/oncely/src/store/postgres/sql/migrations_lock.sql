-- Serializes concurrent `oncely migrate` runs until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('oncely_migrate'))
