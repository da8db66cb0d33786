-- The table recording applied migrations.
CREATE TABLE IF NOT EXISTS oncely_schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
