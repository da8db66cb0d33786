-- Fenced: completes the attempt's job. $1 id, $2 fence
UPDATE oncely_jobs
SET state = 'completed', lease_expires_at = NULL, finalized_at = clock_timestamp()
WHERE id = $1 AND fence = $2 AND state = 'running'
RETURNING id
