-- Records one operator action. $1 actor, $2 action, $3 job id or NULL,
-- $4 queue or NULL, $5 reason, $6 outcome
INSERT INTO oncely_operator_actions (actor, action, job_id, queue, reason, outcome)
VALUES ($1, $2, $3, $4, $5, $6)
