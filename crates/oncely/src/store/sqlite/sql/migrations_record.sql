-- Records an applied migration. ?1 version, ?2 name
INSERT INTO oncely_schema_migrations (version, name) VALUES (?1, ?2)
