-- Wakes the workers of queue $1 (delivered when the transaction commits).
SELECT pg_notify('oncely_jobs', $1)
