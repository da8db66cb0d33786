-- Takes or renews leadership: renewed by its holder, taken over once
-- expired (a new term then, and on re-election after its own expiry).
-- MariaDB and MySQL assign left to right, each SET seeing the ones before:
-- the order below is part of the meaning.
-- (expires_at reads the new leader_id: ours exactly when we lead now).
-- Binds: leader id, ttl microseconds
INSERT INTO oncely_leaders (name, leader_id, term, elected_at, expires_at)
VALUES ('default', ?, 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)
ON DUPLICATE KEY UPDATE
    term = IF(leader_id = VALUES(leader_id) AND expires_at > UTC_TIMESTAMP(6), term,
              IF(leader_id = VALUES(leader_id) OR expires_at <= UTC_TIMESTAMP(6), term + 1, term)),
    elected_at = IF(leader_id = VALUES(leader_id) AND expires_at > UTC_TIMESTAMP(6), elected_at,
                    IF(leader_id = VALUES(leader_id) OR expires_at <= UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), elected_at)),
    leader_id = IF(leader_id = VALUES(leader_id) OR expires_at <= UTC_TIMESTAMP(6), VALUES(leader_id), leader_id),
    expires_at = IF(leader_id = VALUES(leader_id), VALUES(expires_at), expires_at)
