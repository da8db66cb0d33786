-- 1 when the migrations table exists in the current schema.
SELECT count(*)::bigint AS n FROM pg_tables
WHERE tablename = 'oncely_schema_migrations' AND schemaname = current_schema()
