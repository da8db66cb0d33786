-- The invoicer's migration lock (server-wide, this connection). 1 when taken.
SELECT GET_LOCK('invoicer_migrate', 60)
