-- Every oncely connection: UTC, strict mode, and READ COMMITTED (a claim's
-- locking read must see rows committed after the transaction began).
SET SESSION time_zone = '+00:00',
    SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED
