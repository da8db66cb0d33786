-- Binds: job id, schedule, period start
UPDATE oncely_schedule_firings SET job_id = ? WHERE schedule = ? AND period_start = ?
