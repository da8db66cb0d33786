#!/usr/bin/env python3
"""Side-by-side comparison on one PostgreSQL server, in one run.

For each backlog size: the limit (bench/limit: the bare SQL of a job's life
in pgbench, batches of 100 and 500 (--limit-batches), on oncely's schema, on the archive layout
where finished jobs move to a history table, and on the floor table where a
completion deletes and nothing is kept), oncely (oncely-bench), and
every anchor at the settings its documentation recommends for throughput
(named in the row), with its defaults as an extra row at the first backlog:
graphile-worker 0.17 and pg-boss 10 (bench/anchors/bench.mjs), riverqueue,
underway and apalis (bench/anchors/*, their own Cargo projects). A drain that
would outlast --max-drain-secs is cut there and its rate taken over what
finished (the row says "first N s"). At the first backlog also: insert one by
one, bulk insert, and insert-to-start latency at 200 jobs/s for every system.
Prints the tables with oncely's ratio to each row, each row's fraction of
the limit, the WAL it wrote per job and the whole machine's CPU per job
(busy time of every core during the drain, from /proc/stat, for every
row); progress goes to stderr.

    bench/compare.py postgres://USER@HOST:PORT/postgres [--jobs 20000,200000,1000000]
                     [--clients 4] [--concurrency 25] [--max-drain-secs 120]
                     [--peers graphile,river,pgboss,underway,apalis] [--json FILE] [--chart PNG]
                     [--limit-batches 100,500] [--sweep 5,25,100]

Build oncely-bench in release mode first (scripts/bench.sh does); this
script installs the Node anchors (npm) and builds the Rust ones (cargo).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(cmd, env=None):
    progress(" ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return done.stdout


def quiet(url):
    """A checkpoint and a pause before each system's drain, so that none pays
    for the WAL of the rows before it (the pgbench rows write gigabytes at
    1,000,000 jobs). A 1M drain on a small shared machine still varies by
    half from run to run, for every system (docs/benchmarks.md). Skipped with a note where the role may not CHECKPOINT."""
    done = subprocess.run(["psql", url, "-qAtc", "CHECKPOINT"], capture_output=True, text=True)
    if done.returncode != 0:
        progress(f"no CHECKPOINT before the next drain: {done.stderr.strip()}")
    time.sleep(2)


def limit(url, jobs, clients, batches):
    """The limit on oncely's schema, on the archive layout (finished jobs moved
    to a history table) and on the floor table (a completion deletes)."""
    rows = []
    for shape, name in [("oncely", "limit: bare SQL on oncely's schema in pgbench"),
                        ("archive", "archive: oncely's schema, finished jobs moved out, in pgbench"),
                        ("floor", "floor: least job table (delete on completion) in pgbench")]:
        out = run([os.path.join(HERE, "limit", "run.sh"), url, "--jobs", str(jobs),
                   "--clients", str(clients), "--shape", shape,
                   *[arg for b in batches for arg in ("--batch", str(b))]])
        for line in out.splitlines()[1:]:
            batch, done, seconds, rate, wal, cpu = line.split("\t")
            rows.append({"system": f"{name}, batches of {batch}",
                         "jobs_per_sec": float(rate), "wal_bytes_per_job": float(wal),
                         "machine_us_per_job": float(cpu)})
    return rows


BENCH = os.path.join(ROOT, "target", "release", "oncely-bench")
# The machine's cores: a drain that keeps them all busy runs at most
# CORES seconds of CPU per second.
CORES = os.cpu_count() or 1
# Insert-to-start latency rows of the peers, collected from their runs.
LATENCY = []


def oncely_rows(url, *args):
    env = dict(os.environ, DATABASE_URL=url)
    out = run([BENCH, "--backend", "postgres", "--format", "json", *args], env=env)
    return json.loads(out)["rows"]


def oncely(url, jobs, clients, concurrency):
    row = oncely_rows(url, "--only", "drain", "--jobs", str(jobs), "--clients", str(clients),
                      "--concurrency", str(concurrency))[0]
    return {"system": "oncely (defaults: prefetch up to 2,000 by start rate, batched completions)",
            "jobs_per_sec": row["jobs_per_sec"],
            "wal_bytes_per_job": row["db_cost"]["wal_bytes_per_job"],
            "machine_us_per_job": (row.get("cpu") or {}).get("machine_us_per_job"),
            # Of that, oncely's own clients (the benchmark process).
            "client_us_per_job": (row.get("cpu") or {}).get("client_us_per_job")}


# Insert rows, one per system and scenario: one by one, bulk.
INSERTS = []


def collect(out, rows, first):
    """Drain rows of an anchor's JSON line into `rows`; its latency and insert
    rows into LATENCY and INSERTS (at the first backlog)."""
    last = [line for line in out.splitlines() if line.startswith("{")][-1]
    for row in json.loads(last)["rows"]:
        scenario = row["scenario"]
        if row.get("latency"):
            setting = scenario[scenario.index("(") + 1:-1]
            LATENCY.append({"system": f"{row['library']}, {setting}", **row["latency"]})
        elif scenario.startswith("insert,"):
            # Each the first time seen: one by one from the first backlog,
            # bulk from the first backlog that has more than 20,000 jobs.
            if not any(r["system"] == row["library"] and r["scenario"] == scenario
                       for r in INSERTS):
                INSERTS.append({"system": row["library"], "scenario": scenario,
                                "jobs": row["jobs"], "jobs_per_sec": row["jobs_per_sec"]})
        elif scenario.startswith("drain"):
            setting = scenario[scenario.index("(") + 1:-1]
            cut = ""
            if ", first " in scenario:
                cut = ", " + scenario[scenario.index("first "):scenario.index(" (")]
            cost = row.get("db_cost") or {}
            # The chart draws one line per system: the cut is kept apart.
            rows.append({"system": f"{row['library']}, {setting}", "cut": cut,
                         "jobs_per_sec": row["jobs_per_sec"],
                         "wal_bytes_per_job": cost.get("wal_bytes_per_job", 0.0),
                         "machine_us_per_job": (row.get("cpu") or {}).get("machine_us_per_job"),
            # Of that, oncely's own clients (the benchmark process).
            "client_us_per_job": (row.get("cpu") or {}).get("client_us_per_job")})


def node(url, jobs, common, first, *args):
    extra = [] if first else ["--no-latency", "1"]
    return run(["node", os.path.join(HERE, "anchors", "bench.mjs"), url, "--jobs", str(jobs),
                *common, *extra, *args])


def graphile(url, jobs, common, first):
    # Its defaults drain ~2k jobs/s: above 200,000 jobs only the tuned row.
    only = "graphile" if jobs <= 200_000 else "graphile-tuned"
    rows = []
    collect(node(url, jobs, common, first, "--only", only), rows, first)
    return rows


def pgboss(url, jobs, common, first):
    # Batches of 25 (one batch per slot of a client) and of 250 (its best
    # measured); pg-boss polls every 0.5 s at the most often.
    rows = []
    for batch in ([25, 250] if first else [250]):
        collect(node(url, jobs, common, first, "--only", "pgboss", "--batch", str(batch)),
                rows, first)
    return rows


# Rust anchors: (directory, binary, best settings, defaults) — settings as
# their own options; defaults run at the first backlog only.
RUST = {
    "river": ("riverqueue", "riverqueue-bench",
              ["--fetch-cooldown-ms", "1", "--fetch-poll-ms", "10"], []),
    "underway": ("underway", "underway-bench", ["--poll-ms", "10"], []),
    "apalis": ("apalis", "apalis-bench", ["--buffer", "100", "--poll-ms", "10"], []),
}


def rust(name, url, jobs, common, first):
    directory, binary, best, defaults = RUST[name]
    exe = os.path.join(HERE, "anchors", directory, "target", "release", binary)
    rows = []
    for settings in ([best, defaults] if first else [best]):
        only = [] if first else ["--only", "bulk,drain"]
        collect(run([exe, url, "--jobs", str(jobs), *common, *only, *settings]), rows, first)
    return rows


def build_anchors(peers):
    anchors = os.path.join(HERE, "anchors")
    if {"graphile", "pgboss"} & set(peers):
        run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", anchors])
    for name in peers:
        if name in RUST:
            run(["cargo", "build", "--release", "-q", "--manifest-path",
                 os.path.join(anchors, RUST[name][0], "Cargo.toml")])


def server_settings(url):
    names = ["server_version", "shared_buffers", "max_wal_size", "checkpoint_timeout",
             "autovacuum_naptime", "synchronous_commit", "fsync", "wal_compression"]
    query = "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) " \
            f"FROM pg_settings WHERE name IN ({', '.join(repr(n) for n in names)})"
    return run(["psql", url, "-Atc", query]).strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--jobs", default="20000,200000,1000000")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--max-drain-secs", type=int, default=120,
                        help="cut a peer's drain after this long (its rate over what finished)")
    parser.add_argument("--peers", default="graphile,river,pgboss,underway,apalis")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--chart", help="draw the chart into this PNG (needs --json)")
    parser.add_argument("--limit-batches", default="100,500",
                        help="batch sizes of the limit rows (the first is the 'of the limit' base)")
    parser.add_argument("--sweep", default="5,25,100",
                        help="oncely's concurrencies per client for the sweep (at the middle backlog)")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in ("graphile", "pgboss") and p not in RUST:
            raise SystemExit(f"no anchor {p!r}")
    build_anchors(peers)
    settings = server_settings(args.url)
    backlogs = [int(j) for j in args.jobs.split(",")]
    middle = backlogs[len(backlogs) // 2]
    common = ["--clients", str(args.clients), "--concurrency", str(args.concurrency),
              "--max-drain-secs", str(args.max_drain_secs)]
    table = []
    for jobs in backlogs:
        first = jobs == backlogs[0]
        rows = limit(args.url, jobs, args.clients,
                     [int(b) for b in args.limit_batches.split(",") if b])
        quiet(args.url)
        ours = oncely(args.url, jobs, args.clients, args.concurrency)
        rows.append(ours)
        for peer in peers:
            quiet(args.url)
            if peer == "graphile":
                rows.extend(graphile(args.url, jobs, common, first))
            elif peer == "pgboss":
                rows.extend(pgboss(args.url, jobs, common, first))
            else:
                rows.extend(rust(peer, args.url, jobs, common, first))
        for row in rows:
            row["backlog"] = jobs
            row["oncely_ratio"] = ours["jobs_per_sec"] / row["jobs_per_sec"]
            row["of_limit"] = row["jobs_per_sec"] / rows[0]["jobs_per_sec"]
        table.extend(rows)
    for row in oncely_rows(args.url, "--only", "insert,bulk", "--jobs", str(backlogs[0])):
        INSERTS.insert(0, {"system": "oncely", "scenario": row["scenario"],
                           "jobs": row["jobs"], "jobs_per_sec": row["jobs_per_sec"]})
    sweep = [{"concurrency": c,
              "jobs_per_sec": oncely(args.url, middle, args.clients, c)["jobs_per_sec"]}
             for c in [int(c) for c in args.sweep.split(",")]]
    ours = oncely_rows(args.url, "--only", "latency")[0]["latency"]
    latency = [{"system": "oncely", **ours}] + LATENCY
    print(f"PostgreSQL: {settings}")
    print(f"{args.clients} clients x concurrency {args.concurrency}, no-op jobs; "
          "limit = the first limit row")
    print(f"machine CPU = busy time of all {CORES} cores of this machine per job during the drain "
          "(the database, the clients, anything else: meaningful when PostgreSQL runs here too); "
          "CPU-bound at = the rate that cost would allow with every core busy")
    print("| backlog | system | jobs/s | oncely / it | of the limit | WAL bytes/job "
          "| machine CPU µs/job | CPU-bound at |")
    print("|---|---|---|---|---|---|---|---|")
    for row in table:
        cpu = row.get("machine_us_per_job")
        cpu_cells = f"{cpu:.1f} | {CORES * 1e6 / cpu:,.0f}" if cpu else "– | –"
        print(f"| {row['backlog']:,} | {row['system']}{row.get('cut', '')} | {row['jobs_per_sec']:,.0f} | "
              f"{row['oncely_ratio']:.2f}x | {row['of_limit']:.2f} | {row['wal_bytes_per_job']:,.0f} | "
              f"{cpu_cells} |")
    print()
    print("oncely's clients' own CPU per job (of its machine CPU): " +
          ", ".join(f"{r['backlog']:,}: {r['client_us_per_job']:.1f} µs" for r in table
                    if r.get("client_us_per_job")))
    print()
    print(f"oncely at a {middle:,}-job backlog by concurrency per client: " +
          ", ".join(f"{r['concurrency']}: {r['jobs_per_sec']:,.0f} jobs/s" for r in sweep))
    print()
    print("Inserts (one by one: 8 tasks, at most 20,000 jobs; bulk: the rest of a backlog in "
          "batches of 1,000 through each library's own bulk insert):")
    print("| system | scenario | jobs | jobs/s | oncely / it |")
    print("|---|---|---|---|---|")
    for row in INSERTS:
        kind = "insert, one by one" if "one by one" in row["scenario"] else "insert, batches"
        ours = [r for r in INSERTS if r["system"] == "oncely" and r["scenario"].startswith(kind)]
        ratio = f"{ours[0]['jobs_per_sec'] / row['jobs_per_sec']:.2f}x" if ours else ""
        print(f"| {row['system']} | {row['scenario']} | {row['jobs']:,} | "
              f"{row['jobs_per_sec']:,.0f} | {ratio} |")
    print()
    print("Insert-to-start latency, 2,000 jobs inserted one at a time at 200/s into idle workers:")
    print("| system | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for row in latency:
        print(f"| {row['system']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
              f"{row['p99_ms']:.1f} | {row['max_ms']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": settings, "rows": table, "concurrency": sweep,
                       "latency": latency, "inserts": INSERTS}, f, indent=2)
        if args.chart:
            run([BENCH, "--chart-from", args.json, "--chart-out", args.chart])


if __name__ == "__main__":
    main()
