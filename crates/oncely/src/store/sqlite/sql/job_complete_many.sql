-- Fenced per job: completes the attempts named in ?1, a JSON array of
-- [id, fence] pairs, in one statement. Returns the ids that took effect; the
-- others' attempts no longer hold their lease (or are already final).
UPDATE oncely_jobs
SET state = 'completed',
    lease_expires_at = NULL,
    finalized_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE state = 'running'
  AND (id, fence) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                      FROM json_each(?1))
RETURNING id
