-- Binds: job id
SELECT name, result, fence, created_at FROM oncely_job_steps WHERE job_id = ?
ORDER BY created_at, name
