-- Dead tuples, heap size and index size of every user table of this database.
SELECT COALESCE(sum(n_dead_tup), 0)::bigint,
       COALESCE(sum(pg_relation_size(relid)), 0)::bigint,
       COALESCE(sum(pg_indexes_size(relid)), 0)::bigint
FROM pg_stat_user_tables
