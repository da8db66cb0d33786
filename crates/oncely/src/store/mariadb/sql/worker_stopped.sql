-- Binds: id
UPDATE oncely_workers SET stopped_at = UTC_TIMESTAMP(6), last_seen_at = UTC_TIMESTAMP(6) WHERE id = ?
