-- The database clock.
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS now
