#!/usr/bin/env bash
# The main job for now: four `oncely worker` processes share one SQLite file
# and run 1,000 command jobs; every job's effect happens exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p oncely-cli
bin="$PWD/target/release/oncely"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export ONCELY_DATABASE_URL="sqlite://$work/oncely.db"
jobs="${JOBS:-1000}"

"$bin" migrate
: > "$work/effects.log"
echo "enqueueing $jobs jobs ..."
for i in $(seq 1 "$jobs"); do
    "$bin" enqueue --queue demo --unique-key "task:$i" -- sh -c "echo $i >> '$work/effects.log'" >/dev/null
done
echo "starting 4 worker processes on one SQLite file ..."
for n in 1 2 3 4; do
    ONCELY_LOG=oncely=warn "$bin" worker --queues demo=8 --poll-interval-ms 200 --worker-id "server-$n" &
done
while [ "$(wc -l < "$work/effects.log" 2>/dev/null || echo 0)" -lt "$jobs" ]; do sleep 0.5; done
sleep 1
kill -TERM $(jobs -p) && wait || true
"$bin" queues
total=$(wc -l < "$work/effects.log")
unique=$(sort -u "$work/effects.log" | wc -l)
echo "effects: $total for $jobs jobs ($unique distinct): $([ "$total" = "$jobs" ] && [ "$unique" = "$jobs" ] && echo 'each exactly once' || echo 'NOT exactly once')"
