-- States and tokens of the jobs in a JSON array of ids. Binds: ids
SELECT j.id, j.state, j.fence FROM oncely_jobs j
JOIN JSON_TABLE(?, '$[*]' COLUMNS (jid BIGINT PATH '$')) t ON j.id = t.jid
