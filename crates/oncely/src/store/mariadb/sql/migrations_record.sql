-- $1 version, $2 name
INSERT INTO oncely_schema_migrations (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(6))
