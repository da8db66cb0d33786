-- Jobs newest first. $1 state or NULL, $2 queue or NULL, $3 limit
SELECT * FROM oncely_jobs
WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR queue = $2)
ORDER BY id DESC
LIMIT $3
