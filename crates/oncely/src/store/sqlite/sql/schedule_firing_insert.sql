-- Leader-only, fenced on the term: records that a period fired.
-- No row back: already fired, or the term is stale. ?1 schedule, ?2 period_start, ?3 leader_id, ?4 term
INSERT INTO oncely_schedule_firings (schedule, period_start, fired_by, fired_at)
SELECT ?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ?3 AND term = ?4)
ON CONFLICT DO NOTHING
RETURNING schedule
