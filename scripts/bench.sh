#!/usr/bin/env bash
# Builds the benchmarks in release mode and runs them on SQLite and
# PostgreSQL (a throwaway cluster unless DATABASE_URL names a server).
# Extra arguments go to oncely-bench (see `oncely-bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && ! command -v initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing postgresql ..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    else
        echo "The PostgreSQL benchmarks need the Debian package postgresql (or DATABASE_URL):" >&2
        echo "  sudo apt-get install postgresql" >&2
        exit 1
    fi
fi

cargo build --release -p oncely-bench
exec ./target/release/oncely-bench "$@"
