SELECT RELEASE_LOCK('invoicer_migrate')
