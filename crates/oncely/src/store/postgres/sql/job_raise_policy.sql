-- Fenced: makes the running attempt's job at least as strict as the policy of
-- the worker that claimed it (never weaker), before its handler starts.
-- $1 id, $2 fence, $3 at-most-once, $4 reconcilable
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET at_most_once = at_most_once OR $3 OR $4,
    reconcilable = reconcilable OR $4
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING id
