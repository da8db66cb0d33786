#!/usr/bin/env bash
# The main job: the invoicing story on the embedded SQLite default.
# Builds the invoicer and the billing-provider simulator, then runs the demo:
# four servers bill 1,000 invoices due today, first the way the post starts
# (every server bills every pending invoice), then with oncely.
# Extra arguments go to `invoicer demo` (e.g. --chaos, --invoices 5000,
# --database-url postgres://..., --strategy naive,nowait,oncely).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building (release) ..." >&2
cargo build --release -q -p invoicer -p billing-sim
exec ./target/release/invoicer demo --strategy naive,oncely "$@"
