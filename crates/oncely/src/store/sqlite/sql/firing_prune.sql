-- Leader-only: deletes one batch of firing records older than ?1 (a modifier
-- like '-2592000.000 seconds'). ?2 batch, ?3 leader_id, ?4 term
DELETE FROM oncely_schedule_firings
WHERE rowid IN (
    SELECT rowid FROM oncely_schedule_firings
    WHERE fired_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
    LIMIT ?2
)
AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ?3 AND term = ?4)
RETURNING schedule
