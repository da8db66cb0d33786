-- Tells the worker of a running job that an operator cancelled it, so it
-- heartbeats (and stops) now. Delivered at commit; best effort. $1 job id as text
SELECT pg_notify('oncely_cancel', $1)
