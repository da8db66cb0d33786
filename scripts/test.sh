#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need
# (PostgreSQL and MariaDB server binaries, PgBouncer, libfaketime, headless Chromium and the
# console's browser-test driver from npm, psycopg and pg for the SQL API
# examples) when missing, then runs every test.
# The PostgreSQL tests start their own throwaway cluster (or use DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    need_packages+=(postgresql)
fi
if ! ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 >/dev/null 2>&1; then
    need_packages+=(faketime)
fi
if ! [ -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    need_packages+=(chromium)
fi
if ! [ -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then
    need_packages+=(pgbouncer)
fi
# MariaDB server binaries for the MariaDB tests (a throwaway server each).
if ! [ -x /usr/sbin/mariadbd ] && ! command -v mariadbd >/dev/null 2>&1; then
    need_packages+=(mariadb-server)
fi
# Python with venv for the SQL API example (psycopg from PyPI).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    need_packages+=(python3 python3-venv)
fi
# `ip netns` for the partition test (network namespaces; needs root).
if ! command -v ip >/dev/null 2>&1; then
    need_packages+=(iproute2)
fi
if [ ${#need_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${need_packages[*]} ..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
        # The Debian packages start servers of their own; the tests do not use them.
        if command -v service >/dev/null 2>&1; then
            service mariadb stop >/dev/null 2>&1 || true
        fi
        if command -v pg_ctlcluster >/dev/null 2>&1; then
            for v in /etc/postgresql/*/main; do
                [ -d "$v" ] && pg_ctlcluster "$(basename "$(dirname "$v")")" main stop 2>/dev/null || true
            done
        fi
    else
        echo "The tests need: ${need_packages[*]} (Debian packages). Install them, e.g." >&2
        echo "  sudo apt-get install ${need_packages[*]}" >&2
        exit 1
    fi
fi

browser_tests=crates/oncely-cli/tests/browser
if ! [ -d "$browser_tests/node_modules/playwright-core" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "The console's browser test needs Node.js 20 with npm (Debian: nodejs npm)." >&2
        exit 1
    fi
    echo "installing playwright-core for the browser test ..."
    (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The SQL API examples in other languages: psycopg in a venv, pg from npm.
examples_venv=target/examples-venv
if ! [ -x "$examples_venv/bin/python" ] || ! "$examples_venv/bin/python" -c "import psycopg" >/dev/null 2>&1; then
    echo "installing psycopg for the Python example ..."
    python3 -m venv "$examples_venv"
    "$examples_venv/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt
fi
if ! [ -d examples/node/node_modules/pg ]; then
    echo "installing pg for the Node example ..."
    (cd examples/node && npm ci --no-audit --no-fund --loglevel=error)
fi

cargo test --workspace --all-targets --all-features "$@"
