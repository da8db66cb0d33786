#!/usr/bin/env python3
"""Side-by-side drain comparison on one PostgreSQL server, in one run.

For each backlog size: the limit (bench/limit: the bare SQL of a job's life
in pgbench, batches of 100 and 500, on oncely's schema and on the floor table
where a completion deletes and nothing is kept), oncely (oncely-bench), graphile-worker
0.17 at its defaults and at its recommended throughput settings
(bench/anchors/bench.mjs). Prints one table with each system's rate, oncely's
ratio to it, its fraction of the limit and the WAL it wrote per job; progress
goes to stderr.

    bench/compare.py postgres://USER@HOST:PORT/postgres [--jobs 20000,200000,1000000]
                     [--clients 4] [--concurrency 25] [--json FILE]

Build oncely-bench in release mode first (scripts/bench.sh does) and install
the Node anchors (npm install in bench/anchors).
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


def limit(url, jobs, clients):
    """The limit on oncely's schema, then the floor table (a completion deletes)."""
    rows = []
    for shape, name in [("oncely", "limit: bare SQL on oncely's schema in pgbench"),
                        ("floor", "floor: least job table (delete on completion) in pgbench")]:
        out = run([os.path.join(HERE, "limit", "run.sh"), url, "--jobs", str(jobs),
                   "--clients", str(clients), "--shape", shape,
                   "--batch", "100", "--batch", "500"])
        for line in out.splitlines()[1:]:
            batch, done, seconds, rate, wal = line.split("\t")
            rows.append({"system": f"{name}, batches of {batch}",
                         "jobs_per_sec": float(rate), "wal_bytes_per_job": float(wal)})
    return rows


BENCH = os.path.join(ROOT, "target", "release", "oncely-bench")
# Insert-to-start latency rows of the peers, collected from their runs.
LATENCY = []


def oncely_rows(url, *args):
    env = dict(os.environ, DATABASE_URL=url)
    out = run([BENCH, "--backend", "postgres", "--format", "json", *args], env=env)
    return json.loads(out)["rows"]


def oncely(url, jobs, clients, concurrency):
    row = oncely_rows(url, "--only", "drain", "--jobs", str(jobs), "--clients", str(clients),
                      "--concurrency", str(concurrency))[0]
    return {"system": "oncely (defaults: prefetch 200, batched completions)",
            "jobs_per_sec": row["jobs_per_sec"],
            "wal_bytes_per_job": row["db_cost"]["wal_bytes_per_job"]}


def graphile(url, jobs, clients, concurrency):
    # Its defaults drain ~2k jobs/s: above 200,000 jobs only the tuned row.
    only = "graphile" if jobs <= 200_000 else "graphile-tuned"
    out = run(["node", os.path.join(HERE, "anchors", "bench.mjs"), url, "--only", only,
               "--jobs", str(jobs), "--clients", str(clients), "--concurrency", str(concurrency)])
    last = [line for line in out.splitlines() if line.startswith("{")][-1]
    rows = []
    for row in json.loads(last)["rows"]:
        if row.get("latency"):
            setting = row["scenario"][len("insert-to-start latency ("):-1]
            LATENCY.append({"system": f"{row['library']}, {setting}", **row["latency"]})
        if not row["scenario"].startswith("drain"):
            continue
        setting = row["scenario"][len("drain a backlog ("):-1]
        rows.append({"system": f"{row['library']}, {setting}",
                     "jobs_per_sec": row["jobs_per_sec"],
                     "wal_bytes_per_job": row["db_cost"]["wal_bytes_per_job"]})
    return rows


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
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--chart", help="draw the chart into this PNG (needs --json)")
    parser.add_argument("--sweep", default="5,25,100",
                        help="oncely's concurrencies per client for the sweep (at the middle backlog)")
    args = parser.parse_args()
    settings = server_settings(args.url)
    backlogs = [int(j) for j in args.jobs.split(",")]
    middle = backlogs[len(backlogs) // 2]
    table = []
    for jobs in backlogs:
        rows = limit(args.url, jobs, args.clients)
        ours = oncely(args.url, jobs, args.clients, args.concurrency)
        rows.append(ours)
        rows.extend(graphile(args.url, jobs, args.clients, args.concurrency))
        for row in rows:
            row["backlog"] = jobs
            row["oncely_ratio"] = ours["jobs_per_sec"] / row["jobs_per_sec"]
            row["of_limit"] = row["jobs_per_sec"] / rows[0]["jobs_per_sec"]
        table.extend(rows)
    sweep = [{"concurrency": c,
              "jobs_per_sec": oncely(args.url, middle, args.clients, c)["jobs_per_sec"]}
             for c in [int(c) for c in args.sweep.split(",")]]
    ours = oncely_rows(args.url, "--only", "latency")[0]["latency"]
    latency = [{"system": "oncely", **ours}] + LATENCY
    print(f"PostgreSQL: {settings}")
    print(f"{args.clients} clients x concurrency {args.concurrency}, no-op jobs; "
          "limit = batches of 100 (the first limit row)")
    print("| backlog | system | jobs/s | oncely / it | of the limit | WAL bytes/job |")
    print("|---|---|---|---|---|---|")
    for row in table:
        print(f"| {row['backlog']:,} | {row['system']} | {row['jobs_per_sec']:,.0f} | "
              f"{row['oncely_ratio']:.2f}x | {row['of_limit']:.2f} | {row['wal_bytes_per_job']:,.0f} |")
    print()
    print(f"oncely at a {middle:,}-job backlog by concurrency per client: " +
          ", ".join(f"{r['concurrency']}: {r['jobs_per_sec']:,.0f} jobs/s" for r in sweep))
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
                       "latency": latency}, f, indent=2)
        if args.chart:
            run([BENCH, "--chart-from", args.json, "--chart-out", args.chart])


if __name__ == "__main__":
    main()
