-- The table recording the invoicer's applied migrations.
CREATE TABLE IF NOT EXISTS invoicer_schema_migrations (version BIGINT NOT NULL PRIMARY KEY) ENGINE = InnoDB
