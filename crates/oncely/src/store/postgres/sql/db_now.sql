-- The database clock.
SELECT clock_timestamp() AS now
