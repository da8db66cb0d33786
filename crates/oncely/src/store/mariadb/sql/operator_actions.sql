-- Newest first. Binds: job id twice, queue twice, limit
SELECT id, at, actor, action, job_id, queue, reason, outcome
FROM oncely_operator_actions
WHERE (? IS NULL OR job_id = ?) AND (? IS NULL OR queue = ?)
ORDER BY id DESC
LIMIT ?
