-- Jobs newest first, filtered. Binds: before id, state twice, queue twice,
-- kind twice, text three times, limit
SELECT * FROM oncely_jobs
WHERE id < COALESCE(?, 9223372036854775807)
  AND (? IS NULL OR state = ?)
  AND (? IS NULL OR queue = ?)
  AND (? IS NULL OR kind = ?)
  AND (? IS NULL OR LOCATE(LOWER(?), LOWER(args)) > 0 OR LOCATE(LOWER(?), LOWER(errors)) > 0)
ORDER BY id DESC
LIMIT ?
