// The insert and drain scenarios of oncely-bench, on graphile-worker and
// pg-boss, so that the three can be compared on the same PostgreSQL server.
//
//   node bench.mjs POSTGRES_URL [--jobs 20000] [--clients 4] [--concurrency 25]
//       [--max-drain-secs 600] [--only graphile|graphile-tuned|pgboss] [--batch N] [--no-latency 1]
//
// --batch N with --only pgboss: pg-boss with that batch size only.
//
// Each library gets a fresh database (the role must be allowed to CREATE
// DATABASE). Insert: up to 20,000 jobs added one at a time from 8 concurrent
// tasks; the rest of the backlog through the library's bulk insert in
// batches of 1,000 (timed as its own row). Drain: that backlog run by CLIENTS
// workers of CONCURRENCY each, no-op handler, timed from start until every
// job has succeeded and its completion is committed (the library's own table
// shows it finished), or --max-drain-secs passed (then the rate is over what
// finished, and the row says so). Latency: 2,000 jobs added one at a time at
// 200/s into idle workers, insert call to handler start.

import { readFileSync } from "node:fs";
import pg from "pg";
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import PgBoss from "pg-boss";

const INSERTERS = 8;
// graphile-worker logs every job by default; a benchmark should not measure its logging.
const quiet = new Logger(() => () => {});

function parseArgs() {
  const [url, ...rest] = process.argv.slice(2);
  if (!url || !url.startsWith("postgres")) {
    console.error("usage: node bench.mjs POSTGRES_URL [--jobs N] [--clients N] [--concurrency N]");
    process.exit(2);
  }
  const opts = { url, jobs: 20000, clients: 4, concurrency: 25, only: "", "max-drain-secs": 600, "no-latency": 0, batch: 0 };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i].replace(/^--/, "");
    if (key === "only" && ["graphile", "graphile-tuned", "pgboss"].includes(rest[i + 1])) {
      opts.only = rest[i + 1];
      continue;
    }
    const value = Number(rest[i + 1]);
    if (!(key in opts) || !Number.isInteger(value) || value < 1) {
      console.error(`bad option ${rest[i]} ${rest[i + 1]}`);
      process.exit(2);
    }
    opts[key] = value;
  }
  return opts;
}

/** A fresh database next to `url`; returns its URL. */
/** URLs of the databases made by this run and not dropped yet. */
const made = new Set();

async function freshDatabase(url, name) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const db = `${name}_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${db}`;
  made.add(u.toString());
  return u.toString();
}

/**
 * Drops a database made by `freshDatabase` (given by its URL): a run against
 * someone's server leaves nothing behind, and later measurements are not
 * slowed by autovacuum visiting what earlier ones left. Waits (up to 30 s)
 * for the libraries' pools to close their connections rather than
 * terminating them: a pool whose idle connection is killed raises an error
 * nobody handles.
 */
async function dropDatabase(url, dbUrl) {
  const db = new URL(dbUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (let tries = 0; ; tries++) {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${db}`);
        made.delete(dbUrl);
        return;
      } catch (e) {
        // 55006: still in use by another session.
        if (e.code !== "55006" || tries >= 150) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.end();
  }
}

async function insertOneByOne(jobs, add) {
  const perTask = Math.ceil(jobs / INSERTERS);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: INSERTERS }, async () => {
      for (let n = 0; n < perTask; n++) await add(n);
    }),
  );
  return { jobs: perTask * INSERTERS, seconds: (performance.now() - started) / 1000 };
}

async function waitFor(check) {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

/** Waits until `count()` reaches `total` or the drain cap passed; the drain's jobs and seconds. */
async function drained(opts, started, total, count) {
  const cap = opts["max-drain-secs"] * 1000;
  await waitFor(() => count() >= total || performance.now() - started >= cap);
  return { jobs: Math.min(count(), total), seconds: (performance.now() - started) / 1000 };
}

/**
 * After every handler returned (`finished.jobs >= total`), polls `pending`
 * (SQL that returns a row while a job is not yet recorded as finished) until
 * it returns none, so that a drain ends when the library's completions are
 * committed (as oncely-bench and the Rust anchors count), not when its
 * handlers return: graphile-worker and pg-boss complete after the handler's
 * event, in batches. The end is the instant before the poll whose snapshot
 * found nothing pending. Gives up at the cap; a drain cut short stands.
 */
async function settled(opts, url, started, total, finished, pending) {
  if (finished.jobs < total) return finished;
  const cap = opts["max-drain-secs"] * 1000;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (;;) {
      const at = performance.now();
      const r = await c.query(pending);
      if (r.rowCount === 0 || at - started >= cap) return { jobs: finished.jobs, seconds: (at - started) / 1000 };
      await new Promise((res) => setTimeout(res, 5));
    }
  } finally {
    await c.end();
  }
}

/** The drain's scenario name: whole, or cut at the cap. */
function drainName(total, finished, setting) {
  return finished.jobs >= total
    ? `drain ${total} (${setting})`
    : `drain ${total}, first ${finished.seconds.toFixed(0)} s (${setting})`;
}

const ONE_BY_ONE_MAX = 20000;

function row(library, scenario, { jobs, seconds }, dbCost, cpu) {
  return { library, scenario, jobs, seconds, jobs_per_sec: jobs / seconds, db_cost: dbCost, cpu };
}

/**
 * Busy clock ticks of all the machine's cores (user, nice, system, irq,
 * softirq: not idle, I/O wait or steal) from /proc/stat, as oncely-bench
 * counts them (crates/oncely-bench/src/cpu.rs); null off Linux.
 */
function machineBusyTicks() {
  try {
    const t = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return t[0] + t[1] + t[2] + t[5] + t[6];
  } catch {
    return null;
  }
}

/** The whole machine's busy CPU per job since `from` (ticks of 1/100 s), or null. */
function machineCpu(from, jobs) {
  const to = machineBusyTicks();
  if (from === null || to === null || jobs <= 0) return null;
  return { machine_us_per_job: (((to - from) / 100) * 1e6) / jobs };
}

/** The WAL position in bytes (the same query as oncely-bench). */
async function walPosition(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn");
  await c.end();
  return Number(r.rows[0].lsn);
}

/** WAL per job since `from`, dead tuples and sizes of the database's tables (as oncely-bench). */
async function dbCost(url, from, jobs) {
  const to = await walPosition(url);
  await new Promise((r) => setTimeout(r, 1500));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query(
    "SELECT COALESCE(sum(n_dead_tup), 0)::bigint AS dead, COALESCE(sum(pg_relation_size(relid)), 0)::bigint AS heap, " +
      "COALESCE(sum(pg_indexes_size(relid)), 0)::bigint AS idx FROM pg_stat_user_tables",
  );
  await c.end();
  const mib = (b) => Number(b) / (1024 * 1024);
  return {
    wal_bytes_per_job: (to - from) / jobs,
    dead_tuples: Number(r.rows[0].dead),
    table_mib: mib(r.rows[0].heap),
    index_mib: mib(r.rows[0].idx),
  };
}

const GRAPHILE = "graphile-worker 0.17.3";
/** The latency scenario of oncely-bench: jobs inserted one at a time at this rate into idle workers. */
const LATENCY_JOBS = 2000;
const LATENCY_RATE = 200;

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), max_ms: sorted[sorted.length - 1] };
}

/**
 * Adds LATENCY_JOBS jobs one at a time at LATENCY_RATE per second, each
 * carrying its insert time (`add(at)`), and waits until the handlers have
 * pushed a sample for each into `samples`; the seconds it took.
 */
async function paced(samples, add) {
  const started = performance.now();
  for (let n = 0; n < LATENCY_JOBS; n++) {
    const due = started + (n * 1000) / LATENCY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await add(performance.timeOrigin + performance.now());
  }
  await waitFor(() => samples.length >= LATENCY_JOBS);
  return (performance.now() - started) / 1000;
}

/** `opts.clients` graphile-worker runners with `taskList`, at its defaults or `tuned`. */
function graphileRunners(connectionString, opts, tuned, taskList) {
  const worker = tuned
    ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
    : {};
  return Promise.all(
    Array.from({ length: opts.clients }, () =>
      run({
        connectionString,
        concurrency: opts.concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        logger: quiet,
        taskList,
        preset: { worker },
      }),
    ),
  );
}

/** Insert-to-start latency on graphile-worker (`tuned` as in the drain). */
async function graphileLatency(opts, tuned) {
  const connectionString = await freshDatabase(opts.url, "bench_graphile_latency");
  const utils = await makeWorkerUtils({ connectionString, logger: quiet });
  await utils.migrate();
  const samples = [];
  const runners = await graphileRunners(connectionString, opts, tuned, {
    noop: async (payload) => {
      samples.push(performance.timeOrigin + performance.now() - payload.at);
    },
  });
  const seconds = await paced(samples, (at) => utils.addJob("noop", { at }));
  await Promise.all(runners.map((r) => r.stop()));
  await utils.release();
  await dropDatabase(opts.url, connectionString);
  const setting = tuned ? "local queue 500, batched completion" : "defaults";
  return {
    ...row(GRAPHILE, `insert-to-start latency (${setting})`, { jobs: LATENCY_JOBS, seconds }),
    latency: percentiles(samples),
  };
}

/**
 * graphile-worker at its defaults (`tuned` false), or at the settings its
 * release notes recommend for throughput (`tuned`: a local queue fetching in
 * batches, `preset.worker.localQueue.size`, and batched completion,
 * `completeJobBatchDelay` / `failJobBatchDelay` = 0).
 */
async function graphileWorker(opts, tuned) {
  const connectionString = await freshDatabase(opts.url, "bench_graphile");
  const utils = await makeWorkerUtils({ connectionString, logger: quiet });
  await utils.migrate();
  // One by one for the insert scenario (at most 20,000), the rest of the
  // backlog in bulk (`addJobs`, as its docs recommend for many jobs).
  const oneByOne = await insertOneByOne(Math.min(opts.jobs, ONE_BY_ONE_MAX), (n) => utils.addJob("noop", { n }));
  const bulkStarted = performance.now();
  for (let n = oneByOne.jobs; n < opts.jobs; n += 1000) {
    const specs = Array.from({ length: Math.min(1000, opts.jobs - n) }, (_, i) => ({
      identifier: "noop",
      payload: { n: n + i },
    }));
    await utils.addJobs(specs);
  }
  const bulk = { jobs: Math.max(0, opts.jobs - oneByOne.jobs), seconds: (performance.now() - bulkStarted) / 1000 };
  const inserted = { jobs: Math.max(opts.jobs, oneByOne.jobs), seconds: oneByOne.seconds };
  await utils.release();
  let done = 0;
  const walFrom = await walPosition(connectionString);
  const cpuFrom = machineBusyTicks();
  const started = performance.now();
  const runners = await graphileRunners(connectionString, opts, tuned, { noop: async () => {} });
  for (const r of runners) r.events.on("job:success", () => done++);
  // A completed job is deleted (in batches with `completeJobBatchDelay`); the
  // newest ids finish last, so the poll reads the end of the key.
  const finished = await settled(
    opts,
    connectionString,
    started,
    inserted.jobs,
    await drained(opts, started, inserted.jobs, () => done),
    "SELECT id FROM graphile_worker._private_jobs ORDER BY id DESC LIMIT 1",
  );
  const cpu = machineCpu(cpuFrom, finished.jobs);
  await Promise.all(runners.map((r) => r.stop()));
  const cost = await dbCost(connectionString, walFrom, finished.jobs);
  const setting = tuned ? "local queue 500, batched completion" : "defaults";
  const rows = [row(GRAPHILE, "insert, one by one (8 tasks)", oneByOne)];
  if (bulk.jobs > 0) rows.push(row(GRAPHILE, "insert, batches of 1,000 (addJobs)", bulk));
  rows.push(row(GRAPHILE, drainName(inserted.jobs, finished, setting), finished, cost, cpu));
  await dropDatabase(opts.url, connectionString);
  return rows;
}

const PGBOSS = "pg-boss 10.4.2";

/** `opts.clients` pg-boss workers fetching `batchSize` jobs per poll (0.5 s, its least). */
async function pgBossWorkers(connectionString, opts, batchSize, handler) {
  const workers = [];
  for (let i = 0; i < opts.clients; i++) {
    const boss = new PgBoss({ connectionString, max: 10, supervise: false, schedule: false });
    boss.on("error", (e) => console.error("pg-boss:", e.message));
    await boss.start();
    await boss.work("bench", { batchSize, pollingIntervalSeconds: 0.5 }, handler);
    workers.push(boss);
  }
  return workers;
}

async function pgBoss(opts, batchSize) {
  const connectionString = await freshDatabase(opts.url, "bench_pgboss");
  const producer = new PgBoss({ connectionString, max: 10 });
  producer.on("error", (e) => console.error("pg-boss:", e.message));
  await producer.start();
  await producer.createQueue("bench");
  const oneByOne = await insertOneByOne(Math.min(opts.jobs, ONE_BY_ONE_MAX), (n) => producer.send("bench", { n }));
  const bulkStarted = performance.now();
  for (let n = oneByOne.jobs; n < opts.jobs; n += 1000) {
    const jobs = Array.from({ length: Math.min(1000, opts.jobs - n) }, (_, i) => ({ name: "bench", data: { n: n + i } }));
    await producer.insert(jobs);
  }
  const bulk = { jobs: Math.max(0, opts.jobs - oneByOne.jobs), seconds: (performance.now() - bulkStarted) / 1000 };
  const total = Math.max(opts.jobs, oneByOne.jobs);
  let done = 0;
  const walFrom = await walPosition(connectionString);
  const cpuFrom = machineBusyTicks();
  const started = performance.now();
  const workers = await pgBossWorkers(connectionString, opts, batchSize, async (jobs) => {
    done += jobs.length;
  });
  // A batch's handler returns, then pg-boss completes it in one statement.
  const finished = await settled(
    opts,
    connectionString,
    started,
    total,
    await drained(opts, started, total, () => done),
    "SELECT 1 FROM pgboss.job WHERE name = 'bench' AND state IN ('created', 'retry', 'active') LIMIT 1",
  );
  const cpu = machineCpu(cpuFrom, finished.jobs);
  await Promise.all(workers.map((b) => b.stop({ graceful: false, wait: true })));
  const cost = await dbCost(connectionString, walFrom, finished.jobs);
  const rows = [row(PGBOSS, "insert, one by one (8 tasks)", oneByOne)];
  if (bulk.jobs > 0) rows.push(row(PGBOSS, "insert, batches of 1,000 (insert)", bulk));
  rows.push(row(PGBOSS, drainName(total, finished, `batches of ${batchSize}`), finished, cost, cpu));
  if (!opts["no-latency"]) {
    // Idle workers: what the drain left is removed first.
    const c = new pg.Client({ connectionString });
    await c.connect();
    await c.query("DELETE FROM pgboss.job WHERE name = 'bench'");
    await c.end();
    const samples = [];
    const idle = await pgBossWorkers(connectionString, opts, batchSize, async (jobs) => {
      const now = performance.timeOrigin + performance.now();
      for (const j of jobs) samples.push(now - j.data.at);
    });
    const seconds = await paced(samples, (at) => producer.send("bench", { at }));
    await Promise.all(idle.map((b) => b.stop({ graceful: false, wait: true })));
    rows.push({
      ...row(PGBOSS, `insert-to-start latency (batches of ${batchSize})`, { jobs: LATENCY_JOBS, seconds }),
      latency: percentiles(samples),
    });
  }
  await producer.stop({ graceful: false, wait: true });
  await dropDatabase(opts.url, connectionString);
  return rows;
}

const opts = parseArgs();
// pg-boss fetches a batch per worker every polling interval (0.5 s at the
// least), so its drain rate is bounded by clients x batch / 0.5 s: measured
// with batches of --concurrency, and of 10 x --concurrency.
// --only graphile | pgboss runs one library (pg-boss is slow at big backlogs);
// --only graphile-tuned runs graphile-worker at its throughput settings only
// (its defaults take minutes at a 1,000,000-job backlog).
const rows = [];
try {
  if (opts.only === "graphile-tuned") {
    rows.push(...(await graphileWorker(opts, true)));
    if (!opts["no-latency"]) rows.push(await graphileLatency(opts, true));
  } else if (opts.only !== "pgboss") {
    rows.push(...(await graphileWorker(opts, false)));
    rows.push(...(await graphileWorker(opts, true)).filter((r) => !r.scenario.startsWith("insert,")));
    if (!opts["no-latency"]) {
      rows.push(await graphileLatency(opts, false));
      rows.push(await graphileLatency(opts, true));
    }
  }
  if (opts.only === "pgboss" && opts.batch) {
    rows.push(...(await pgBoss(opts, opts.batch)));
  } else if (opts.only === "" || opts.only === "pgboss") {
    rows.push(...(await pgBoss(opts, opts.concurrency)));
    rows.push(...(await pgBoss(opts, opts.concurrency * 10)).filter((r) => !r.scenario.startsWith("insert,")));
  }
} finally {
  // What a failed scenario left.
  for (const dbUrl of made) {
    await dropDatabase(opts.url, dbUrl).catch((e) => console.error(`dropping ${dbUrl}:`, e.message));
  }
}
for (const r of rows) {
  const l = r.latency;
  const latency = l ? `${l.p50_ms.toFixed(1)}/${l.p95_ms.toFixed(1)}/${l.p99_ms.toFixed(1)}/${l.max_ms.toFixed(1)} ms` : "";
  console.log(
    `${r.library.padEnd(24)} ${r.scenario.padEnd(52)} ${String(r.jobs).padStart(7)} ${r.seconds.toFixed(2).padStart(8)} ${r.jobs_per_sec.toFixed(0).padStart(9)} ${latency}`,
  );
}
for (const r of rows.filter((r) => r.db_cost)) {
  const c = r.db_cost;
  console.log(
    `${r.library} ${r.scenario}: WAL ${c.wal_bytes_per_job.toFixed(0)} bytes/job, ${c.dead_tuples} dead tuples left, tables ${c.table_mib.toFixed(1)} MiB + indexes ${c.index_mib.toFixed(1)} MiB`,
  );
}
for (const r of rows.filter((r) => r.cpu)) {
  console.log(`${r.library} ${r.scenario}: CPU ${r.cpu.machine_us_per_job.toFixed(1)} µs/job on the whole machine`);
}
console.log(JSON.stringify({ settings: opts, rows }));
process.exit(0);
