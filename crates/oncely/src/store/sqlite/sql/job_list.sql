-- Jobs newest first, keyset-paginated. ?1 state, ?2 queue, ?3 kind (each NULL
-- for any), ?4 only ids below this (NULL: from the newest), ?5 text that args
-- or errors contain, case-insensitive (NULL: any), ?6 limit.
SELECT * FROM oncely_jobs
WHERE id < COALESCE(?4, 9223372036854775807)
  AND (?1 IS NULL OR state = ?1)
  AND (?2 IS NULL OR queue = ?2)
  AND (?3 IS NULL OR kind = ?3)
  AND (?5 IS NULL OR instr(lower(args), lower(?5)) > 0 OR instr(lower(errors), lower(?5)) > 0)
ORDER BY id DESC
LIMIT ?6
