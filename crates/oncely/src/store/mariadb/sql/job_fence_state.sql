-- State and token of a job, to explain a rejected fenced write. Binds: id
SELECT state, fence FROM oncely_jobs WHERE id = ?
