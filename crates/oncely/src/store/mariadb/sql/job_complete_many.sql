-- Fenced per job: completes the attempts in a JSON array of [id, fence]
-- pairs in one statement. Binds: pairs
UPDATE oncely_jobs j
JOIN JSON_TABLE(?, '$[*]' COLUMNS (jid BIGINT PATH '$[0]', f BIGINT PATH '$[1]')) t
  ON j.id = t.jid AND j.fence = t.f
SET j.state = 'completed', j.lease_expires_at = NULL, j.finalized_at = UTC_TIMESTAMP(6)
WHERE j.state = 'running'
