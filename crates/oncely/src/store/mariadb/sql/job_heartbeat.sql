-- Fenced: extends the lease. Binds: lease microseconds, id, fence
UPDATE oncely_jobs SET lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
WHERE id = ? AND fence = ? AND state = 'running'
