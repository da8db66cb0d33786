-- Fenced per job: completes the attempts named by ($1[i], $2[i]) = (id, fence)
-- in one statement. Returns the ids that took effect; the others' attempts no
-- longer hold their lease (or are already final).
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs j
SET state = 'completed', lease_expires_at = NULL, finalized_at = clock_timestamp()
FROM unnest($1::bigint[], $2::bigint[]) AS f(id, fence)
WHERE j.id = f.id AND j.fence = f.fence AND j.state = 'running'
  AND (f.fence >> 40) = (SELECT oncely_fence_epoch())
RETURNING j.id
