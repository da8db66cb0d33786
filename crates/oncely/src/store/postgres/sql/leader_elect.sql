-- Takes or extends leadership. A new leader (or one whose lease ran out) gets
-- the next term. No row back: someone else leads. $1 leader_id, $2 ttl seconds
INSERT INTO oncely_leaders AS l (name, leader_id, term, elected_at, expires_at)
VALUES ('default', $1, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (name) DO UPDATE SET
    leader_id = EXCLUDED.leader_id,
    term = CASE WHEN l.leader_id = EXCLUDED.leader_id AND l.expires_at > clock_timestamp()
                THEN l.term ELSE l.term + 1 END,
    elected_at = CASE WHEN l.leader_id = EXCLUDED.leader_id AND l.expires_at > clock_timestamp()
                      THEN l.elected_at ELSE clock_timestamp() END,
    expires_at = EXCLUDED.expires_at
WHERE l.leader_id = EXCLUDED.leader_id OR l.expires_at <= clock_timestamp()
RETURNING leader_id, term, elected_at, expires_at
