-- Running jobs whose lease expired: cancelled when an operator asked for it
-- (the attempt is over: it obeys its lease), in doubt when at-most-once or
-- reconciling, discarded when out of attempts, else retryable now.
-- $1 batch size
-- The clock is read once, in a subquery: compared with a bare
-- clock_timestamp() (volatile) the lease index cannot bound the scan, and on a
-- large backlog the planner read the whole table every 5 s instead (250-650 ms
-- per run at 1,000,000 jobs). The picked ids are then looked up by key as one
-- array: joined to the table instead, the planner may hash all of it when it
-- guesses many leases expired.
WITH expired AS (
    SELECT id FROM oncely_jobs
    WHERE state = 'running' AND lease_expires_at < (SELECT clock_timestamp())
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE oncely_jobs j
SET state = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                 WHEN j.at_most_once OR j.reconciling THEN 'in_doubt'
                 WHEN j.attempt >= j.max_attempts THEN 'discarded'
                 ELSE 'retryable' END,
    run_at = clock_timestamp(),
    lease_expires_at = NULL,
    finalized_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN clock_timestamp()
                        WHEN NOT (j.at_most_once OR j.reconciling) AND j.attempt >= j.max_attempts
                        THEN clock_timestamp() END,
    errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'outcome', 'lease expired', 'fence', j.fence, 'worker', j.locked_by, 'started_at', j.attempted_at, 'at', clock_timestamp(),
        'error', 'lease expired: worker ' || COALESCE(j.locked_by, '?') || ' stopped heartbeating'
                 || CASE WHEN j.cancel_requested_at IS NOT NULL THEN ' (cancelled by operator)' ELSE '' END))
WHERE j.id = ANY(ARRAY(SELECT id FROM expired)) AND j.state = 'running'
RETURNING j.state
