-- Leader-only, fenced on the term: moves a schedule's last period forward
-- (never back) and records the next one. ?1 name, ?2 last_period, ?3 next_period, ?4 leader_id, ?5 term
UPDATE oncely_schedules
SET last_period = MAX(COALESCE(last_period, ?2), ?2), next_period = ?3
WHERE name = ?1
  AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ?4 AND term = ?5)
RETURNING name
