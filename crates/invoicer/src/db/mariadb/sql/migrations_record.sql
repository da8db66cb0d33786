-- Records an applied migration. Binds: version
INSERT INTO invoicer_schema_migrations (version) VALUES (?)
