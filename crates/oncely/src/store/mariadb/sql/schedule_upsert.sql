-- Binds: name, spec, queue, kind, args, at_most_once, max_attempts, catch_up, reconcilable
INSERT INTO oncely_schedules (name, spec, queue, kind, args, at_most_once, max_attempts, catch_up,
                              reconcilable, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
ON DUPLICATE KEY UPDATE
    updated_at = IF(spec <=> VALUES(spec) AND queue <=> VALUES(queue) AND kind <=> VALUES(kind)
                    AND args <=> VALUES(args) AND at_most_once <=> VALUES(at_most_once)
                    AND max_attempts <=> VALUES(max_attempts) AND catch_up <=> VALUES(catch_up)
                    AND reconcilable <=> VALUES(reconcilable), updated_at, VALUES(updated_at)),
    spec = VALUES(spec), queue = VALUES(queue), kind = VALUES(kind), args = VALUES(args),
    at_most_once = VALUES(at_most_once), max_attempts = VALUES(max_attempts),
    catch_up = VALUES(catch_up), reconcilable = VALUES(reconcilable)
