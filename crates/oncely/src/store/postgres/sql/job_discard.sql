-- Fenced: discards the job now. $1 id, $2 fence, $3 error text
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = 'discarded', lease_expires_at = NULL, finalized_at = clock_timestamp(),
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'outcome', 'discarded', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(), 'error', $3::text))
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING id
