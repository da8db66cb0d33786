//! The shared half of the Rust anchors in `bench/anchors`: every anchor runs
//! the same scenarios as `oncely-bench`, on a fresh database of one server,
//! and prints the same rows.
//!
//! Scenarios (`--only insert,bulk,drain,latency`, all by default):
//! - insert: `min(jobs, 20,000)` jobs one at a time from 8 concurrent tasks;
//! - bulk: the rest of the backlog (at least 20,000 jobs) through the
//!   library's own bulk insert, timed (a library without one says so);
//! - drain: the backlog worked by `--clients` clients of `--concurrency`,
//!   no-op handler, until every handler has returned or `--max-drain-secs`
//!   passed (then the rate is over what finished, and the row says so);
//! - latency: 2,000 jobs inserted one at a time at 200/s into idle workers,
//!   the time from the insert call to the handler starting.
//!
//! Invariant: nothing here times anything the anchor's library does not do;
//! the completion counters are bumped by the handlers themselves, never by a
//! query over the backlog (a `count(*)` every few milliseconds over a million
//! rows loads the server being measured).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Jobs inserted one at a time at most; the rest of a backlog goes in bulk.
pub const ONE_BY_ONE_MAX: u32 = 20_000;
/// Concurrent tasks of the one-by-one insert.
pub const INSERTERS: u32 = 8;
/// Jobs of the latency scenario, and their rate per second.
pub const LATENCY_JOBS: u32 = 2_000;
/// See [`LATENCY_JOBS`].
pub const LATENCY_RATE: u32 = 200;

/// The WAL position in bytes (the same query as `oncely-bench`).
pub const WAL_POSITION_SQL: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint";
/// Dead tuples, heap bytes and index bytes of the database's tables.
pub const TABLE_COST_SQL: &str = "SELECT COALESCE(sum(n_dead_tup), 0)::bigint, \
     COALESCE(sum(pg_relation_size(relid)), 0)::bigint, \
     COALESCE(sum(pg_indexes_size(relid)), 0)::bigint FROM pg_stat_user_tables";

/// The scenarios to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Only {
    /// One by one.
    pub insert: bool,
    /// The library's bulk insert.
    pub bulk: bool,
    /// Drain the backlog.
    pub drain: bool,
    /// Insert-to-start latency.
    pub latency: bool,
}

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A PostgreSQL URL whose role may `CREATE DATABASE`.
    pub url: String,
    /// Backlog size.
    pub jobs: u32,
    /// Clients (each its own pool) draining.
    pub clients: u32,
    /// Jobs run at once per client.
    pub concurrency: u32,
    /// Longest drain before the rate is taken over what finished.
    pub max_drain: Duration,
    /// Scenarios.
    pub only: Only,
    /// The anchor's own knobs (`--name value`), in order.
    pub knobs: Vec<(String, String)>,
}

impl Plan {
    /// Parses `URL [--jobs N] [--clients N] [--concurrency N]
    /// [--max-drain-secs S] [--only LIST] [--KNOB VALUE ...]`; `knobs` names
    /// the anchor's own options (anything else is an error).
    pub fn from_args(knobs: &[&str]) -> Result<Plan, String> {
        let mut args = std::env::args().skip(1);
        let usage = format!(
            "usage: URL [--jobs N] [--clients N] [--concurrency N] [--max-drain-secs S] \
             [--only insert,bulk,drain,latency]{}",
            knobs
                .iter()
                .map(|k| format!(" [--{k} N]"))
                .collect::<String>()
        );
        let url = args
            .next()
            .filter(|u| u.starts_with("postgres"))
            .ok_or(usage.clone())?;
        let mut plan = Plan {
            url,
            jobs: 20_000,
            clients: 4,
            concurrency: 25,
            max_drain: Duration::from_secs(600),
            only: Only {
                insert: true,
                bulk: true,
                drain: true,
                latency: true,
            },
            knobs: Vec::new(),
        };
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .ok_or(format!("{flag} needs a value\n{usage}"))?;
            let number = || -> Result<u32, String> {
                value.parse::<u32>().ok().filter(|n| *n > 0).ok_or(format!(
                    "{flag} wants a positive whole number, not {value:?}"
                ))
            };
            match flag.trim_start_matches("--") {
                "jobs" => plan.jobs = number()?,
                "clients" => plan.clients = number()?,
                "concurrency" => plan.concurrency = number()?,
                "max-drain-secs" => plan.max_drain = Duration::from_secs(u64::from(number()?)),
                "only" => {
                    plan.only = Only::default();
                    for s in value.split(',') {
                        match s {
                            "insert" => plan.only.insert = true,
                            "bulk" => plan.only.bulk = true,
                            "drain" => plan.only.drain = true,
                            "latency" => plan.only.latency = true,
                            other => return Err(format!("no scenario {other:?}\n{usage}")),
                        }
                    }
                }
                k if knobs.contains(&k) => {
                    number()?;
                    plan.knobs.push((k.to_owned(), value.clone()));
                }
                _ => return Err(format!("unknown option {flag}\n{usage}")),
            }
        }
        Ok(plan)
    }

    /// The anchor's knob `name`, if given.
    pub fn knob(&self, name: &str) -> Option<u32> {
        self.knobs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// Jobs inserted one at a time, and jobs inserted in bulk after them.
    pub fn split(&self) -> (u32, u32) {
        let one_by_one = self.jobs.min(ONE_BY_ONE_MAX);
        (one_by_one, self.jobs - one_by_one)
    }
}

/// A name for a fresh database of this anchor.
pub fn database_name(anchor: &str) -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("bench_{anchor}_{}_{ms}", std::process::id())
}

/// `url` with its database replaced by `name`.
pub fn database_url(url: &str, name: &str) -> Result<String, String> {
    let (base, _) = url.rsplit_once('/').ok_or("the URL names no database")?;
    Ok(format!("{base}/{name}"))
}

/// Runs `run` on a database of its own, named for `anchor`, on the server at
/// `url`: created first, and dropped afterwards whatever `run` returned (a
/// benchmark server crowded with the databases of earlier runs slows every
/// system measured on it). `admin(sql)` runs one statement on the server
/// (peer-kit keeps out of the anchors' sqlx versions); `run` gets the new
/// database's URL.
pub async fn in_own_database<A, AF, R, RF, E>(
    url: &str,
    anchor: &str,
    mut admin: A,
    run: R,
) -> Result<(), E>
where
    A: FnMut(String) -> AF,
    AF: Future<Output = Result<(), E>>,
    R: FnOnce(String) -> RF,
    RF: Future<Output = Result<(), E>>,
    E: From<String>,
{
    let name = database_name(anchor);
    let db = database_url(url, &name)?;
    admin(format!("CREATE DATABASE {name}")).await?;
    let ran = run(db).await;
    // WITH (FORCE): this run's pools may still hold connections to it.
    let dropped = admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    ran?;
    dropped
}

/// One printed row, kept for [`print_json`].
struct Row {
    library: String,
    scenario: String,
    jobs: u64,
    seconds: f64,
    /// WAL bytes per job, dead tuples, table MiB, index MiB.
    cost: Option<(f64, i64, f64, f64)>,
    /// p50, p95, p99, max in milliseconds.
    latency: Option<[f64; 4]>,
    /// The whole machine's busy CPU per job over a drain, µs.
    machine_us_per_job: Option<f64>,
}

static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());

fn rows() -> std::sync::MutexGuard<'static, Vec<Row>> {
    ROWS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prints every row so far as one JSON line, `{"rows": [...]}`, in the shape
/// `bench/anchors/bench.mjs` prints (`bench/compare.py` reads it).
pub fn print_json() {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let items: Vec<String> = rows()
        .iter()
        .map(|r| {
            let mut o = format!(
                "{{\"library\":{},\"scenario\":{},\"jobs\":{},\"seconds\":{},\"jobs_per_sec\":{}",
                quote(&r.library),
                quote(&r.scenario),
                r.jobs,
                r.seconds,
                r.jobs as f64 / r.seconds.max(1e-9)
            );
            if let Some((wal, dead, table, index)) = r.cost {
                o += &format!(
                    ",\"db_cost\":{{\"wal_bytes_per_job\":{wal},\"dead_tuples\":{dead},\"table_mib\":{table},\"index_mib\":{index}}}"
                );
            }
            if let Some(us) = r.machine_us_per_job {
                o += &format!(",\"cpu\":{{\"machine_us_per_job\":{us}}}");
            }
            if let Some([p50, p95, p99, max]) = r.latency {
                o += &format!(
                    ",\"latency\":{{\"p50_ms\":{p50},\"p95_ms\":{p95},\"p99_ms\":{p99},\"max_ms\":{max}}}"
                );
            }
            o + "}"
        })
        .collect();
    println!("{{\"rows\":[{}]}}", items.join(","));
}

/// Prints one row: library, scenario, jobs, seconds, jobs per second.
pub fn print_row(library: &str, scenario: &str, jobs: u64, took: Duration) {
    rows().push(Row {
        library: library.to_owned(),
        scenario: scenario.to_owned(),
        jobs,
        seconds: took.as_secs_f64(),
        cost: None,
        latency: None,
        machine_us_per_job: None,
    });
    println!(
        "{library:<24} {scenario:<52} {jobs:>8} {:>8.2} {:>9.0}",
        took.as_secs_f64(),
        jobs as f64 / took.as_secs_f64().max(1e-9)
    );
}

/// Runs `insert(n)` for `n` in `0..jobs`, spread over [`INSERTERS`] tasks;
/// the time it took.
pub async fn one_by_one<F, Fut, E>(jobs: u32, insert: F) -> Result<Duration, E>
where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Send + 'static,
{
    spread(jobs, INSERTERS, insert).await
}

/// Fills the rest of a backlog one job at a time (for a library without a
/// bulk insert; untimed), from 32 tasks so that a million jobs take minutes,
/// not a quarter of an hour.
pub async fn fill<F, Fut, E>(jobs: u32, insert: F) -> Result<(), E>
where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Send + 'static,
{
    spread(jobs, 32, insert).await.map(|_| ())
}

async fn spread<F, Fut, E>(jobs: u32, inserters: u32, insert: F) -> Result<Duration, E>
where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Send + 'static,
{
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..inserters {
        let insert = insert.clone();
        tasks.spawn(async move {
            let mut n = t;
            while n < jobs {
                insert(n).await?;
                n += inserters;
            }
            Ok::<(), E>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(result) = done {
            result?;
        }
    }
    Ok(started.elapsed())
}

/// Completions seen by the handlers.
#[derive(Debug, Clone, Default)]
pub struct Done(Arc<AtomicU64>);

impl Done {
    /// One handler returned.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Handlers returned so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Waits until `total` handlers returned or `cap` passed since
    /// `started`; how many returned and when.
    pub async fn wait(&self, total: u64, started: Instant, cap: Duration) -> (u64, Duration) {
        loop {
            let done = self.get();
            if done >= total || started.elapsed() >= cap {
                return (done, started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// After every handler returned (`done >= total`), polls `completed` (a
/// count of the jobs the library has recorded as finished) every 50 ms
/// until it shows `total` too, so that a drain ends when the library's
/// completions are written, not when its handlers return; gives up at `cap`
/// since `started`. When the drain was cut short the handlers' count stands.
pub async fn settled<F, Fut, E>(
    done: u64,
    total: u64,
    started: Instant,
    cap: Duration,
    mut completed: F,
) -> Result<Duration, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<i64, E>>,
{
    if done < total {
        return Ok(started.elapsed());
    }
    loop {
        if completed().await? >= total as i64 || started.elapsed() >= cap {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The busy time of all the machine's cores at one instant (user, nice,
/// system, irq, softirq: not idle, I/O wait or steal), from `/proc/stat`, as
/// `oncely-bench` counts it (`crates/oncely-bench/src/cpu.rs`). `None` off
/// Linux.
#[derive(Debug, Clone, Copy)]
pub struct MachineCpu(Option<u64>);

impl MachineCpu {
    /// Reads the counters now.
    pub fn now() -> MachineCpu {
        MachineCpu(busy_ticks())
    }

    /// Busy seconds of all cores since `self` was read.
    pub fn busy_since(self) -> Option<f64> {
        Some(busy_ticks()?.saturating_sub(self.0?) as f64 / TICKS_PER_SEC)
    }
}

/// Clock ticks per second of `/proc/stat` (Linux's `USER_HZ`).
const TICKS_PER_SEC: f64 = 100.0;

fn busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    [0, 1, 2, 5, 6].iter().map(|&i| ticks.get(i)).sum()
}

/// Prints the drain's row (marked when the cap ended it), with the machine's
/// busy CPU per job when `busy` (seconds of all cores over the drain, see
/// [`MachineCpu`]) is known.
pub fn print_drain(
    library: &str,
    setting: &str,
    total: u64,
    done: u64,
    took: Duration,
    busy: Option<f64>,
) {
    let scenario = if done >= total {
        format!("drain {total} ({setting})")
    } else {
        format!(
            "drain {total}, first {:.0} s ({setting})",
            took.as_secs_f64()
        )
    };
    print_row(library, &scenario, done, took);
    if let Some(busy) = busy.filter(|_| done > 0) {
        let us = busy * 1e6 / done as f64;
        if let Some(last) = rows().last_mut() {
            last.machine_us_per_job = Some(us);
        }
        println!("{library} drain ({setting}): CPU {us:.1} µs/job on the whole machine");
    }
}

/// Microseconds since the UNIX epoch: what a latency job carries.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// The waits the latency scenario's handlers saw.
#[derive(Debug, Clone, Default)]
pub struct Waits(Arc<Mutex<Vec<u64>>>);

impl Waits {
    /// A handler started a job inserted at `inserted_us` ([`now_us`]).
    pub fn record(&self, inserted_us: u64) {
        let waited = now_us().saturating_sub(inserted_us);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(waited);
    }

    /// Samples so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no handler started yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prints p50 / p95 / p99 / max in milliseconds.
    pub fn print(&self, library: &str, setting: &str, took: Duration) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        s.sort_unstable();
        let at = |q: f64| {
            let i = ((q * s.len() as f64) as usize).min(s.len().saturating_sub(1));
            s.get(i).copied().unwrap_or_default() as f64 / 1000.0
        };
        print_row(
            library,
            &format!("insert-to-start latency, {LATENCY_RATE}/s ({setting})"),
            s.len() as u64,
            took,
        );
        if let Some(last) = rows().last_mut() {
            last.latency = Some([at(0.5), at(0.95), at(0.99), at(1.0)]);
        }
        println!(
            "{library:<24}   latency p50/p95/p99/max {:.1}/{:.1}/{:.1}/{:.1} ms",
            at(0.5),
            at(0.95),
            at(0.99),
            at(1.0)
        );
    }
}

/// Inserts [`LATENCY_JOBS`] jobs at [`LATENCY_RATE`] per second, each
/// carrying [`now_us`] at its insert; waits (up to 30 s after the last)
/// until `waits` has them all. The time it took.
pub async fn paced<F, Fut, E>(waits: &Waits, mut insert: F) -> Result<Duration, E>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut tick = tokio::time::interval(Duration::from_secs(1) / LATENCY_RATE);
    let started = Instant::now();
    for _ in 0..LATENCY_JOBS {
        tick.tick().await;
        insert(now_us()).await?;
    }
    let last = Instant::now();
    while waits.len() < LATENCY_JOBS as usize && last.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(started.elapsed())
}

/// What every anchor does after its drain: waits 1.5 s (for the library's
/// last writes and the statistics), reads the cost with `read` (the WAL
/// position now and [`TABLE_COST_SQL`]'s row), prints it against
/// `wal_before`, and when the cap cut the drain short runs `clear` (what
/// the cap left must not run into the latency scenario).
pub async fn after_drain<R, RF, C, CF, E>(
    library: &str,
    setting: &str,
    (total, finished): (u64, u64),
    wal_before: i64,
    read: R,
    clear: C,
) -> Result<(), E>
where
    R: FnOnce() -> RF,
    RF: Future<Output = Result<(i64, (i64, i64, i64)), E>>,
    C: FnOnce() -> CF,
    CF: Future<Output = Result<(), E>>,
{
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (wal_after, tables) = read().await?;
    print_cost(library, setting, finished, (wal_before, wal_after), tables);
    if finished < total {
        clear().await?;
    }
    Ok(())
}

/// Prints what a drain cost the database: WAL bytes per job from
/// `wal_before` to `wal_after`, and `(dead tuples, heap bytes, index
/// bytes)` read with [`TABLE_COST_SQL`].
pub fn print_cost(
    library: &str,
    setting: &str,
    jobs: u64,
    wal: (i64, i64),
    tables: (i64, i64, i64),
) {
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    let wal_per_job = (wal.1 - wal.0) as f64 / jobs.max(1) as f64;
    if let Some(last) = rows().last_mut() {
        last.cost = Some((wal_per_job, tables.0, mib(tables.1), mib(tables.2)));
    }
    println!(
        "{library} drain ({setting}): WAL {:.0} bytes/job, {} dead tuples left, tables {:.1} MiB + indexes {:.1} MiB",
        (wal.1 - wal.0) as f64 / jobs.max(1) as f64,
        tables.0,
        mib(tables.1),
        mib(tables.2)
    );
}
