-- State and token of a job, to explain a rejected fenced write. $1 id
SELECT state, fence FROM oncely_jobs WHERE id = $1
