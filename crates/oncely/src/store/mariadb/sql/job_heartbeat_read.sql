-- What a heartbeat returns. Binds: id
SELECT lease_expires_at, cancel_requested_at IS NOT NULL AS cancel_requested FROM oncely_jobs WHERE id = ?
