-- Fenced per job: hands back attempts that never started (jobs a worker
-- claimed ahead into its local buffer). ($1[i], $2[i]) = (id, fence). The
-- attempt is not counted; a reconciliation goes back in doubt, a job an
-- operator cancelled meanwhile is cancelled. Returns the ids handed back.
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs j
SET state = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN j.reconciling THEN 'in_doubt' ELSE 'available' END,
    attempt = CASE WHEN j.reconciling THEN j.attempt ELSE j.attempt - 1 END,
    finalized_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN clock_timestamp() END,
    lease_expires_at = NULL,
    reconciling = false
FROM unnest($1::bigint[], $2::bigint[]) AS f(id, fence)
WHERE j.id = f.id AND j.fence = f.fence AND j.state = 'running'
  AND (f.fence >> 40) = (SELECT oncely_fence_epoch())
RETURNING j.id
