-- Leader-only: deletes one batch of firing records older than $1 seconds.
-- $2 batch, $3 leader_id, $4 term
DELETE FROM oncely_schedule_firings f
WHERE (f.schedule, f.period_start) IN (
    SELECT schedule, period_start FROM oncely_schedule_firings
    WHERE fired_at < clock_timestamp() - make_interval(secs => $1)
    LIMIT $2
)
AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = $3 AND term = $4)
RETURNING f.schedule
