-- The newest applied invoicer migration (0 when none).
SELECT CAST(COALESCE(MAX(version), 0) AS SIGNED) AS version FROM invoicer_schema_migrations
