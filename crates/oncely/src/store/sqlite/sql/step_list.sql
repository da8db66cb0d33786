-- Every stored step of job ?1, oldest first.
SELECT name, result, fence, created_at FROM oncely_job_steps WHERE job_id = ?1
ORDER BY created_at, name
