-- Claims picked in-doubt jobs for reconciliation (attempt unchanged).
-- Binds: picked, base, lease microseconds, worker id
UPDATE oncely_jobs j
JOIN JSON_TABLE(?, '$[*]' COLUMNS (rn FOR ORDINALITY, jid BIGINT PATH '$')) t ON j.id = t.jid
SET j.state = 'running',
    j.fence = ? + t.rn,
    j.lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
    j.attempted_at = UTC_TIMESTAMP(6),
    j.locked_by = ?,
    j.cancel_requested_at = NULL,
    j.reconciling = TRUE
