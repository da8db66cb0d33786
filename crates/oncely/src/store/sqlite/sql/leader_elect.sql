-- Takes or extends leadership. A new leader (or one whose lease ran out) gets
-- the next term. No row back: someone else leads. ?1 leader_id, ?2 ttl modifier
INSERT INTO oncely_leaders (name, leader_id, term, elected_at, expires_at)
VALUES ('default', ?1, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2))
ON CONFLICT (name) DO UPDATE SET
    leader_id = excluded.leader_id,
    term = CASE WHEN oncely_leaders.leader_id = excluded.leader_id AND oncely_leaders.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                THEN oncely_leaders.term ELSE oncely_leaders.term + 1 END,
    elected_at = CASE WHEN oncely_leaders.leader_id = excluded.leader_id AND oncely_leaders.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                      THEN oncely_leaders.elected_at ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    expires_at = excluded.expires_at
WHERE oncely_leaders.leader_id = excluded.leader_id OR oncely_leaders.expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
RETURNING leader_id, term, elected_at, expires_at
