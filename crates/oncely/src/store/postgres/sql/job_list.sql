-- Jobs newest first, keyset-paginated. $1 state, $2 queue, $3 kind (each NULL
-- for any), $4 only ids below this (NULL: from the newest), $5 text that args
-- or errors contain, case-insensitive (NULL: any), $6 limit.
-- The id bound is a range on the primary key even in a generic plan.
SELECT * FROM oncely_jobs
WHERE id < COALESCE($4::bigint, 9223372036854775807)
  AND ($1::text IS NULL OR state = $1)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR kind = $3)
  AND ($5::text IS NULL
       OR strpos(lower(args::text), lower($5)) > 0
       OR strpos(lower(errors::text), lower($5)) > 0)
ORDER BY id DESC
LIMIT $6
