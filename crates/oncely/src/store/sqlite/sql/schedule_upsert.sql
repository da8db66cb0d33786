-- Stores a schedule definition; keeps its history (last/next period, created_at).
-- ?1 name, ?2 spec, ?3 queue, ?4 kind, ?5 args, ?6 at_most_once, ?7 max_attempts, ?8 catch_up,
-- ?9 reconcilable
INSERT INTO oncely_schedules (name, spec, queue, kind, args, at_most_once, max_attempts, catch_up,
                              created_at, updated_at, reconcilable)
VALUES (?1, json(?2), ?3, ?4, json(?5), ?6, ?7, json(?8), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?9)
ON CONFLICT (name) DO UPDATE SET
    spec = excluded.spec, queue = excluded.queue, kind = excluded.kind, args = excluded.args,
    at_most_once = excluded.at_most_once, max_attempts = excluded.max_attempts,
    catch_up = excluded.catch_up, reconcilable = excluded.reconcilable,
    updated_at = excluded.updated_at
WHERE oncely_schedules.spec IS NOT excluded.spec OR oncely_schedules.queue IS NOT excluded.queue
   OR oncely_schedules.kind IS NOT excluded.kind OR oncely_schedules.args IS NOT excluded.args
   OR oncely_schedules.at_most_once IS NOT excluded.at_most_once
   OR oncely_schedules.max_attempts IS NOT excluded.max_attempts
   OR oncely_schedules.catch_up IS NOT excluded.catch_up
   OR oncely_schedules.reconcilable IS NOT excluded.reconcilable
