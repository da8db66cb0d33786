-- The non-final job holding a unique key. $1 unique_key
SELECT * FROM oncely_jobs
WHERE unique_key = $1 AND state NOT IN ('completed','discarded','cancelled')
