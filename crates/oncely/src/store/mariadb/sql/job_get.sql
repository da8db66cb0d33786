-- One job. Binds: id
SELECT * FROM oncely_jobs WHERE id = ?
