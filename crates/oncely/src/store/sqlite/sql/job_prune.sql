-- Leader-only, fenced on the term: deletes one batch of old final jobs.
-- ?1 completed cutoff modifier ('-86400.000 seconds'), ?2 discarded/cancelled cutoff modifier,
-- ?3 batch, ?4 leader_id, ?5 term
DELETE FROM oncely_jobs
WHERE id IN (
    SELECT id FROM oncely_jobs
    WHERE (state = 'completed' AND finalized_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1))
       OR (state IN ('discarded','cancelled') AND finalized_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2))
    LIMIT ?3
)
AND state IN ('completed','discarded','cancelled')
AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ?4 AND term = ?5)
RETURNING id
