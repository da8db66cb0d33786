#!/usr/bin/env bash
# Side-by-side benchmark on one PostgreSQL server: oncely (oncely-bench) and
# the same scenarios on graphile-worker and pg-boss (Node 20 and npm needed)
# and on riverqueue (River's Rust client), underway and apalis (separate Cargo projects).
#   bench/anchors/run.sh postgres://USER@HOST:PORT/postgres [--jobs N] [--clients N] [--concurrency N]
set -euo pipefail
url="${1:?usage: bench/anchors/run.sh POSTGRES_URL [--jobs N] [--clients N] [--concurrency N]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && npm install --no-audit --no-fund --silent)
(cd "$here/../.." && cargo build --release -q -p oncely-bench)
echo "== oncely"
DATABASE_URL="$url" "$here/../../target/release/oncely-bench" --backend postgres "$@"
echo "== graphile-worker, pg-boss"
node "$here/bench.mjs" "$url" "$@"
echo "== riverqueue (River's Rust client)"
jobs=20000 clients=4 concurrency=25
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs="$2" ;; --clients) clients="$2" ;; --concurrency) concurrency="$2" ;;
    esac
    shift 2
done
(cd "$here/riverqueue" && cargo build --release -q)
# River's default fetch cooldown (100 ms), then its minimum (1 ms).
"$here/riverqueue/target/release/riverqueue-bench" "$url" "$jobs" "$clients" "$concurrency" 100
"$here/riverqueue/target/release/riverqueue-bench" "$url" "$jobs" "$clients" "$concurrency" 1
echo "== underway"
(cd "$here/underway" && cargo build --release -q)
# underway's default polling (one minute, plus notifications), then every 10 ms.
"$here/underway/target/release/underway-bench" "$url" "$jobs" "$clients" "$concurrency"
"$here/underway/target/release/underway-bench" "$url" "$jobs" "$clients" "$concurrency" 10
echo "== apalis (PostgreSQL storage)"
(cd "$here/apalis" && cargo build --release -q)
# apalis's defaults (buffer 10, poll 100 ms), then a buffer of 100 polled every 10 ms
# (its documentation names no throughput settings; these are its fetch knobs).
"$here/apalis/target/release/apalis-bench" "$url" "$jobs" "$clients" "$concurrency"
"$here/apalis/target/release/apalis-bench" "$url" "$jobs" "$clients" "$concurrency" 100 10
