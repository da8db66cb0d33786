-- Running jobs whose lease ended, oldest first, locked. Binds: limit
SELECT id FROM oncely_jobs
WHERE state = 'running' AND lease_expires_at < UTC_TIMESTAMP(6)
ORDER BY lease_expires_at
LIMIT ?
FOR UPDATE SKIP LOCKED
