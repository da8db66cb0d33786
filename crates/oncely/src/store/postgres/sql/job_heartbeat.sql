-- Fenced: extends the lease, and tells the attempt whether an operator asked
-- it to stop. $1 id, $2 fence, $3 lease seconds
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET lease_expires_at = clock_timestamp() + make_interval(secs => $3)
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING lease_expires_at, cancel_requested_at IS NOT NULL AS cancel_requested
