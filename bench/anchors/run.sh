#!/usr/bin/env bash
# Every anchor once at each of its settings, on one PostgreSQL server, one
# after the other, each in a fresh database: oncely (oncely-bench), then
# graphile-worker and pg-boss (Node 20 and npm), riverqueue (River's Rust
# client), underway and apalis (their own Cargo projects, sharing peer-kit).
# Scenarios per library: insert one by one, bulk insert (past 20,000 jobs),
# drain (cut at --max-drain-secs), insert-to-start latency at 200/s.
#   bench/anchors/run.sh postgres://USER@HOST:PORT/postgres [--jobs N] [--clients N]
#                        [--concurrency N] [--max-drain-secs S]
# bench/compare.py runs the same anchors at several backlogs beside the limit.
set -euo pipefail
url="${1:?usage: bench/anchors/run.sh POSTGRES_URL [--jobs N] [--clients N] [--concurrency N] [--max-drain-secs S]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
jobs=20000 clients=4 concurrency=25 cap=600
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs="$2" ;; --clients) clients="$2" ;; --concurrency) concurrency="$2" ;;
        --max-drain-secs) cap="$2" ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
common=(--jobs "$jobs" --clients "$clients" --concurrency "$concurrency" --max-drain-secs "$cap")
(cd "$here" && npm install --no-audit --no-fund --silent)
(cd "$here/../.." && cargo build --release -q -p oncely-bench)
for anchor in riverqueue underway apalis; do
    cargo build --release -q --manifest-path "$here/$anchor/Cargo.toml"
done
echo "== oncely"
DATABASE_URL="$url" "$here/../../target/release/oncely-bench" --backend postgres \
    --jobs "$jobs" --clients "$clients" --concurrency "$concurrency"
echo "== graphile-worker (defaults, then local queue 500 + batched completion), pg-boss (batches of 25, 250)"
node "$here/bench.mjs" "$url" "${common[@]}"
echo "== riverqueue (River's Rust client): its defaults, then its least fetch cooldown with a 10 ms poll"
"$here/riverqueue/target/release/riverqueue-bench" "$url" "${common[@]}"
"$here/riverqueue/target/release/riverqueue-bench" "$url" "${common[@]}" --fetch-cooldown-ms 1 --fetch-poll-ms 10
echo "== underway: its default polling (one minute, plus notifications), then every 10 ms"
"$here/underway/target/release/underway-bench" "$url" "${common[@]}"
"$here/underway/target/release/underway-bench" "$url" "${common[@]}" --poll-ms 10
echo "== apalis (PostgreSQL storage): its defaults (buffer 10, poll 100 ms), then buffer 100 polled every 10 ms"
# Its documentation names no throughput settings; these are its fetch knobs.
"$here/apalis/target/release/apalis-bench" "$url" "${common[@]}"
"$here/apalis/target/release/apalis-bench" "$url" "${common[@]}" --buffer 100 --poll-ms 10
