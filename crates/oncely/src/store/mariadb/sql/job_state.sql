-- The state of a job. Binds: id
SELECT state FROM oncely_jobs WHERE id = ?
