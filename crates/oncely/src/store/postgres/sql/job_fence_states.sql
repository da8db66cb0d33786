-- States and tokens of jobs $1, to explain rejected fenced writes in one go.
SELECT id, state, fence FROM oncely_jobs WHERE id = ANY($1)
