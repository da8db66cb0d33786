SELECT RELEASE_LOCK('oncely_migrate')
