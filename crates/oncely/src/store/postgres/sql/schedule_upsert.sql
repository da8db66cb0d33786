-- Stores a schedule definition; keeps its history (last/next period, created_at).
-- $1 name, $2 spec, $3 queue, $4 kind, $5 args, $6 at_most_once, $7 max_attempts, $8 catch_up,
-- $9 reconcilable
INSERT INTO oncely_schedules (name, spec, queue, kind, args, at_most_once, max_attempts, catch_up,
                              reconcilable)
VALUES ($1, $2::jsonb, $3, $4, $5::jsonb, $6, $7, $8::jsonb, $9)
ON CONFLICT (name) DO UPDATE SET
    spec = EXCLUDED.spec, queue = EXCLUDED.queue, kind = EXCLUDED.kind, args = EXCLUDED.args,
    at_most_once = EXCLUDED.at_most_once, max_attempts = EXCLUDED.max_attempts,
    catch_up = EXCLUDED.catch_up, reconcilable = EXCLUDED.reconcilable, updated_at = now()
WHERE (oncely_schedules.spec, oncely_schedules.queue, oncely_schedules.kind, oncely_schedules.args,
       oncely_schedules.at_most_once, oncely_schedules.max_attempts, oncely_schedules.catch_up,
       oncely_schedules.reconcilable)
   IS DISTINCT FROM
      (EXCLUDED.spec, EXCLUDED.queue, EXCLUDED.kind, EXCLUDED.args,
       EXCLUDED.at_most_once, EXCLUDED.max_attempts, EXCLUDED.catch_up, EXCLUDED.reconcilable)
