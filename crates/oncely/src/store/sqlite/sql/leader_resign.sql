-- Gives up leadership if still held with this term: ends the lease now but
-- keeps the row, so the next leader's term is larger. ?1 leader_id, ?2 term
UPDATE oncely_leaders SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE name = 'default' AND leader_id = ?1 AND term = ?2
  AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
RETURNING term
