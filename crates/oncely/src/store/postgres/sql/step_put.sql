-- Fenced: stores a finished step's result, only while the attempt holds the
-- job. $1 job id, $2 fence, $3 step name, $4 result
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
INSERT INTO oncely_job_steps (job_id, name, result, fence)
SELECT $1, $3, $4::jsonb, $2
WHERE EXISTS (SELECT 1 FROM oncely_jobs WHERE id = $1 AND fence = $2 AND state = 'running'
              AND ($2 >> 40) = (SELECT oncely_fence_epoch()))
ON CONFLICT DO NOTHING
RETURNING name
