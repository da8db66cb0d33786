-- One job. $1 id
SELECT * FROM oncely_jobs WHERE id = $1
