-- The newest applied migration (0 when none).
SELECT COALESCE(MAX(version), 0)::bigint AS version FROM oncely_schema_migrations
