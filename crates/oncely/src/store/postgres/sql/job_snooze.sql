-- Fenced: sleeps for $3 seconds without using up an attempt. $1 id, $2 fence
UPDATE oncely_jobs
SET state = 'scheduled', attempt = attempt - 1,
    run_at = clock_timestamp() + make_interval(secs => $3), lease_expires_at = NULL
WHERE id = $1 AND fence = $2 AND state = 'running'
RETURNING id
