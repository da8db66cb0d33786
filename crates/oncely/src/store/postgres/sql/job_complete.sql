-- Fenced: completes the attempt's job. $1 id, $2 fence
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = 'completed', lease_expires_at = NULL, finalized_at = clock_timestamp()
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING id
