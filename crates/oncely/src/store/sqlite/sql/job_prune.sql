-- Leader-only, fenced on the term: deletes one batch of old final jobs.
-- ?1 completed cutoff modifier ('-86400.000 seconds'), ?2 discarded/cancelled cutoff modifier,
-- ?3 batch, ?4 leader_id, ?5 term
-- Oldest first along the finalized index, bounded by the shorter retention,
-- each row then held to its own state's; the picked ids deleted by rowid
-- (`+state`: not through the state index). Without statistics SQLite read
-- every finished job through the state index at every prune instead.
DELETE FROM oncely_jobs
WHERE id IN (
    SELECT id FROM oncely_jobs INDEXED BY oncely_jobs_finalized
    WHERE state IN ('completed','discarded','cancelled')
      AND finalized_at < max(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1),
                             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2))
      AND finalized_at < CASE WHEN state = 'completed'
                              THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
                              ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) END
    ORDER BY finalized_at
    LIMIT ?3
)
AND +state IN ('completed','discarded','cancelled')
AND EXISTS (SELECT 1 FROM oncely_leaders WHERE name = 'default' AND leader_id = ?4 AND term = ?5)
RETURNING id
