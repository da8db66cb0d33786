-- Holds in doubt every at-most-once or reconcilable job that was due and not
-- running: its claim may have been lost with the old primary. $1 the new
-- timeline (for the reason). Returns how many.
WITH held AS (
    UPDATE oncely_jobs
    SET state = 'in_doubt',
        run_at = clock_timestamp(),
        errors = errors || jsonb_build_array(jsonb_build_object(
            'attempt', attempt + 1, 'outcome', 'in_doubt', 'at', clock_timestamp(),
            'error', 'held after a failover to timeline ' || $1::bigint
                     || ': a claim of this job may have been lost with the old primary'))
    WHERE state IN ('available', 'retryable', 'scheduled')
      AND run_at <= clock_timestamp()
      AND (at_most_once OR reconcilable)
    RETURNING 1
)
SELECT count(*) FROM held
