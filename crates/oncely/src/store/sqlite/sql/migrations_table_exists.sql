-- 1 when the migrations table exists.
SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'oncely_schema_migrations'
