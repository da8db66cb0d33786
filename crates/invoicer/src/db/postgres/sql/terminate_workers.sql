-- Fault injection (invoicer chaos): terminates the workers' connections to
-- this database, i.e. those named 'oncely', except the caller's own.
SELECT count(pg_terminate_backend(pid))
FROM pg_stat_activity
WHERE application_name = 'oncely' AND pid <> pg_backend_pid() AND datname = current_database()
