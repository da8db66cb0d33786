-- 1 when an operator paused the queue. Binds: queue
SELECT COUNT(*) FROM oncely_queues WHERE name = ? AND paused_at IS NOT NULL
