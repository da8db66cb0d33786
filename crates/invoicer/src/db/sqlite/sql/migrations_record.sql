-- Records an applied migration. ?1 version
INSERT INTO invoicer_schema_migrations (version) VALUES (?1)
