-- Records a step's result under a held lease (first write wins). Binds:
-- id, name, result, fence, id, fence
INSERT IGNORE INTO oncely_job_steps (job_id, name, result, fence, created_at)
SELECT ?, ?, ?, ?, UTC_TIMESTAMP(6) FROM DUAL
WHERE EXISTS (SELECT 1 FROM oncely_jobs WHERE id = ? AND fence = ? AND state = 'running')
