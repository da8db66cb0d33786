-- Fenced: discards a job just claimed whose row cannot be decoded, so that it
-- is never claimed again and poisons no batch; the row stays for an operator.
-- An errors value that is not a list is kept inside the new entry.
-- $1 id, $2 fence, $3 reason
-- A token of an earlier timeline is refused too: that attempt began before a
-- failover, and writes it made there may be lost (oncely_fence_epoch).
UPDATE oncely_jobs
SET state = 'discarded', lease_expires_at = NULL, finalized_at = clock_timestamp(),
    errors = CASE WHEN jsonb_typeof(errors) = 'array' THEN errors ELSE '[]'::jsonb END
             || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'outcome', 'quarantined', 'fence', fence, 'worker', locked_by, 'started_at', attempted_at, 'at', clock_timestamp(), 'error', $3::text,
                    'unreadable_errors', CASE WHEN jsonb_typeof(errors) = 'array'
                                              THEN NULL ELSE errors END))
WHERE id = $1 AND fence = $2 AND state = 'running'
  AND ($2 >> 40) = (SELECT oncely_fence_epoch())
RETURNING id
