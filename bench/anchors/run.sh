#!/usr/bin/env bash
# Side-by-side benchmark on one PostgreSQL server: oncely (oncely-bench) and
# the same scenarios on graphile-worker and pg-boss (Node 20 and npm needed).
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
