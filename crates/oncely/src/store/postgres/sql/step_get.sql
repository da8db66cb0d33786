-- A stored step result. $1 job id, $2 step name
SELECT result FROM oncely_job_steps WHERE job_id = $1 AND name = $2
