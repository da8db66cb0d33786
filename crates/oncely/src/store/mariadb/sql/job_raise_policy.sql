-- Fenced: raises the job's recorded policy. Binds: at_most_once,
-- reconcilable, reconcilable, id, fence
UPDATE oncely_jobs
SET at_most_once = at_most_once OR ? OR ?,
    reconcilable = reconcilable OR ?
WHERE id = ? AND fence = ? AND state = 'running'
