-- The operator log, newest first. $1 job id or NULL, $2 queue or NULL, $3 limit
SELECT id, at, actor, action, job_id, queue, reason, outcome
FROM oncely_operator_actions
WHERE ($1::bigint IS NULL OR job_id = $1) AND ($2::text IS NULL OR queue = $2)
ORDER BY id DESC
LIMIT $3
