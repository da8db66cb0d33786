-- Waits up to 60 s for the server-wide migration lock; 1 when taken.
SELECT GET_LOCK('oncely_migrate', 60)
