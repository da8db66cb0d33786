-- Fenced: stores a finished step's result, only while the attempt holds the
-- job. ?1 job id, ?2 fence, ?3 step name, ?4 result
INSERT INTO oncely_job_steps (job_id, name, result, fence)
SELECT ?1, ?3, json(?4), ?2
WHERE EXISTS (SELECT 1 FROM oncely_jobs WHERE id = ?1 AND fence = ?2 AND state = 'running')
ON CONFLICT DO NOTHING
RETURNING name
