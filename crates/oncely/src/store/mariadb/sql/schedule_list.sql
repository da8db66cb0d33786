SELECT name, spec, queue, kind, args, at_most_once, reconcilable, max_attempts, catch_up,
       last_period, next_period, created_at
FROM oncely_schedules ORDER BY name
