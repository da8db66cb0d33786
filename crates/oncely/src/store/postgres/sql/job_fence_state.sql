-- State and token of a job, to explain a rejected fenced write, and the
-- server's timeline (a token of an earlier one is refused). $1 id
SELECT state, fence, (SELECT oncely_fence_epoch()) AS epoch FROM oncely_jobs WHERE id = $1
