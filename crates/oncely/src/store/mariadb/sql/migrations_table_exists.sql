-- 1 when the migrations table exists in the current database.
SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_name = 'oncely_schema_migrations'
