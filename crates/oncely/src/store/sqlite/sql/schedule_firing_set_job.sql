-- Links a firing to the job it inserted. ?1 schedule, ?2 period_start, ?3 job id
UPDATE oncely_schedule_firings SET job_id = ?3 WHERE schedule = ?1 AND period_start = ?2
