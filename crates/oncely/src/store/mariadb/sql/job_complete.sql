-- Fenced: completes the attempt's job. Binds: id, fence
UPDATE oncely_jobs
SET state = 'completed', lease_expires_at = NULL, finalized_at = UTC_TIMESTAMP(6)
WHERE id = ? AND fence = ? AND state = 'running'
