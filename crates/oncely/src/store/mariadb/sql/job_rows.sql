-- The rows of the jobs in a JSON array of ids. Binds: ids
SELECT j.* FROM oncely_jobs j
JOIN JSON_TABLE(?, '$[*]' COLUMNS (jid BIGINT PATH '$')) t ON j.id = t.jid
