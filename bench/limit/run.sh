#!/usr/bin/env bash
# The limit: the bare SQL of a job's life (bulk insert, claim with SKIP LOCKED,
# fenced complete) run by pgbench in batches on oncely's own schema, on the
# server at URL. oncely's drain is reported as a fraction of this.
#   bench/limit/run.sh postgres://USER@HOST:PORT/postgres [--jobs N] [--clients N] [--batch N]...
# --batch may be given several times; each batch size is one row.
# --shape floor runs the same drain on the least a job table can be
# (floor_schema.sql: a completion deletes, nothing kept) instead of oncely's;
# --shape archive runs it on oncely's schema with finished jobs moved to a
# history table on completion (archive_schema.sql); --shape hot runs it with
# a completion that PostgreSQL can write as a heap-only update (hot_schema.sql);
# --shape bound runs it on oncely's schema with each client's claim starting
# after the last job its previous claim took (bound_drain.sql), instead of at
# the head of the fetch index.
# Each row: the batch, jobs done, seconds, jobs/s, WAL bytes per job, and the
# whole machine's busy CPU per job over the drain (all cores, /proc/stat:
# PostgreSQL and pgbench).
set -euo pipefail
url="${1:?usage: bench/limit/run.sh POSTGRES_URL [--jobs N] [--clients N] [--batch N]...}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
migrations="$here/../../crates/oncely/src/store/postgres/migrations"
jobs=20000 clients=4 batches=() shape=oncely
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs="$2" ;; --clients) clients="$2" ;; --batch) batches+=("$2") ;;
        --shape) shape="$2" ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ ${#batches[@]} -gt 0 ] || batches=(100 500)
case "$shape" in oncely|floor|archive|hot|bound) ;; *) echo "--shape is oncely, floor, archive, hot or bound" >&2; exit 2 ;; esac
db="oncely_limit_$$"
admin() { psql "$url" -v ON_ERROR_STOP=1 -qAtc "$1"; }
# The same URL with the database replaced.
db_url="$(printf '%s' "$url" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")"
q() { psql "$db_url" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'admin "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
# Busy clock ticks (1/100 s) of all cores: user, nice, system, irq, softirq
# (as oncely-bench's cpu.rs counts them).
busy_ticks() { local _ u n s i w irq sirq rest; read -r _ u n s i w irq sirq rest < /proc/stat; echo $(( u + n + s + irq + sirq )); }
printf 'batch\tjobs\tseconds\tjobs/s\tWAL bytes/job\tmachine CPU µs/job\n'
for batch in "${batches[@]}"; do
    admin "DROP DATABASE IF EXISTS $db" >/dev/null
    admin "CREATE DATABASE $db"
    if [ "$shape" = floor ]; then
        psql "$db_url" -v ON_ERROR_STOP=1 -q -f "$here/floor_schema.sql" >/dev/null
        q "INSERT INTO floor_jobs (queue, payload)
           SELECT 'bench', jsonb_build_object('n', g) FROM generate_series(1, $jobs) g"
        q "ANALYZE floor_jobs"
        script="$here/floor_drain.sql"
    else
        for m in "$migrations"/*.sql; do psql "$db_url" -v ON_ERROR_STOP=1 -q -f "$m" >/dev/null; done
        # Before the backlog goes in: its pages must be written half empty.
        if [ "$shape" = hot ]; then
            psql "$db_url" -v ON_ERROR_STOP=1 -q -f "$here/hot_schema.sql" >/dev/null
        fi
        q "INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key)
           SELECT 'bench', 'noop', jsonb_build_object('n', g), 'available', 25, 'k' || g
           FROM generate_series(1, $jobs) g"
        q "ANALYZE oncely_jobs"
        script="$here/drain.sql"
        if [ "$shape" = archive ]; then
            psql "$db_url" -v ON_ERROR_STOP=1 -q -f "$here/archive_schema.sql" >/dev/null
            script="$here/archive_drain.sql"
        elif [ "$shape" = hot ]; then
            script="$here/hot_drain.sql"
        elif [ "$shape" = bound ]; then
            script="$here/bound_drain.sql"
        fi
    fi
    per_client=$(( (jobs + batch * clients - 1) / (batch * clients) ))
    wal_from="$(q "SELECT pg_current_wal_lsn()")"
    busy_from=$(busy_ticks)
    started=$(date +%s.%N)
    # lp, lr, li: the key (priority, run_at in microseconds, id) a bound claim
    # starts after; the lowest at first (the other scripts ignore them).
    pgbench -n -f "$script" -D batch="$batch" -D lp=-32768 -D lr=0 -D li=0 \
        -c "$clients" -j "$clients" \
        -t "$per_client" "$db_url" >/dev/null
    ended=$(date +%s.%N)
    busy=$(( $(busy_ticks) - busy_from ))
    if [ "$shape" = floor ]; then
        done_jobs=$(( jobs - $(q "SELECT count(*) FROM floor_jobs") ))
    elif [ "$shape" = archive ]; then
        done_jobs="$(q "SELECT count(*) FROM oncely_jobs_finished WHERE state = 'completed'")"
    elif [ "$shape" = hot ]; then
        done_jobs="$(q "SELECT count(*) FROM oncely_jobs WHERE done_at IS NOT NULL")"
    else
        done_jobs="$(q "SELECT count(*) FROM oncely_jobs WHERE state = 'completed'")"
    fi
    wal="$(q "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_from')")"
    awk -v b="$batch" -v n="$done_jobs" -v s="$started" -v e="$ended" -v w="$wal" -v c="$busy" \
        'BEGIN { t = e - s; printf "%d\t%d\t%.2f\t%.0f\t%.0f\t%.1f\n", b, n, t, n / t, w / n, c / 100 * 1e6 / n }'
    if [ "$shape" = hot ]; then
        # How many of the updates were heap-only (the statistics lag a moment).
        sleep 1
        echo "# updates heap-only: $(q "SELECT n_tup_hot_upd || ' of ' || n_tup_upd FROM pg_stat_user_tables WHERE relname = 'oncely_jobs'")" >&2
    fi
done
