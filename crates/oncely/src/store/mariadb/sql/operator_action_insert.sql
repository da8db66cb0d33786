-- Binds: actor, action, job id, queue, reason, outcome
INSERT INTO oncely_operator_actions (at, actor, action, job_id, queue, reason, outcome)
VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?)
