SELECT CAST(COALESCE(MAX(version), 0) AS SIGNED) FROM oncely_schema_migrations
