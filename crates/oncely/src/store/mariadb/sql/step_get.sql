-- Binds: job id, name
SELECT result FROM oncely_job_steps WHERE job_id = ? AND name = ?
