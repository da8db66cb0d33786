//! The scenarios: enqueue one by one, enqueue in bulk, drain a backlog with
//! several clients, and the latency from insert to handler start under a
//! steady load. Each runs on a fresh database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oncely::worker::ClientConfig;
use oncely::{Client, NewJob, Store};
use oncely_testkit::{Backend, TestDb};
use serde::Serialize;
use serde_json::json;
use tokio::task::JoinSet;

use crate::scratch::Scratch;
use crate::stats::{percentiles, Percentiles};

/// The queue and kind every scenario uses.
const QUEUE: &str = "bench";
const KIND: &str = "noop";
/// Concurrent tasks of the one-by-one insert scenario.
const INSERTERS: u32 = 8;
/// Batch size of the bulk insert scenario.
const BATCH: u32 = 1_000;

/// Sizes of the runs.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Jobs per throughput scenario.
    pub jobs: u32,
    /// Worker clients.
    pub clients: u32,
    /// Queue concurrency of each client.
    pub concurrency: u32,
    /// Jobs of the latency scenario.
    pub latency_jobs: u32,
    /// Insert rate of the latency scenario (jobs per second).
    pub latency_rate: u32,
    /// SQLite's `synchronous` mode: `full` (oncely's default, durable) or
    /// `normal` (opt-in, may lose the last commits on power loss).
    pub sqlite_synchronous: &'static str,
    /// Length of the churn scenario, seconds.
    pub churn_secs: u32,
    /// Enqueue rate of the churn scenario, jobs per second.
    pub churn_rate: u32,
}

impl Settings {
    /// The URL to connect to `db` with these settings.
    pub(crate) fn url(&self, db: &TestDb) -> String {
        match db.backend {
            Backend::Sqlite => format!("{}?synchronous={}", db.url, self.sqlite_synchronous),
            Backend::Postgres | Backend::MariaDb => db.url.clone(),
        }
    }
}

/// One measured scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// What was measured.
    pub scenario: String,
    /// Jobs in the run.
    pub jobs: u32,
    /// Wall time.
    pub seconds: f64,
    /// Jobs per second.
    pub jobs_per_sec: f64,
    /// Insert-to-start latency (latency scenario only).
    pub latency: Option<Percentiles>,
    /// What the run cost PostgreSQL (drain on PostgreSQL only).
    pub db_cost: Option<crate::db_cost::DbCost>,
    /// Samples over time (churn only).
    pub samples: Option<Vec<crate::churn::Sample>>,
    /// CPU per job (drain only).
    pub cpu: Option<crate::cpu::CpuCost>,
}

/// The scenarios, by the names `--only` takes.
pub const SCENARIOS: [&str; 5] = ["insert", "bulk", "drain", "latency", "churn"];

/// The scenarios named in `only` (all when empty) on `backend`, in order.
pub async fn run_all(backend: Backend, s: &Settings, only: &[String]) -> Result<Vec<Row>, String> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut rows = Vec::new();
    if wanted("insert") {
        rows.push(insert_one_by_one(backend, s).await?);
    }
    if wanted("bulk") {
        rows.push(insert_in_batches(backend, s).await?);
    }
    if wanted("drain") {
        rows.push(drain(backend, s, "drain a backlog (no-op handler)").await?);
        if backend == Backend::Sqlite && s.clients > 1 {
            // How one process on SQLite is deployed: one client, all the slots.
            let one = Settings {
                clients: 1,
                concurrency: s.clients * s.concurrency,
                ..s.clone()
            };
            rows.push(drain(backend, &one, "drain, one client with all slots").await?);
        }
    }
    if wanted("latency") {
        rows.push(latency(backend, s).await?);
    }
    // Minutes long: only when asked for by name.
    if only.iter().any(|o| o == "churn") {
        rows.push(crate::churn::churn(backend, s).await?);
    }
    Ok(rows)
}

/// A fresh migrated database (dropped when the [`Scratch`] goes), or why
/// there is none.
pub(crate) async fn fresh(backend: Backend, s: &Settings) -> Result<(Scratch, Store), String> {
    let db = tokio::spawn(TestDb::new(backend))
        .await
        .map(Scratch::new)
        .map_err(|_| format!("could not prepare a {backend:?} database (see the message above)"))?;
    let store = oncely::connect(&s.url(&db))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    Ok((db, store))
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
        Backend::MariaDb => "mariadb",
    }
}

pub(crate) fn row(backend: Backend, scenario: impl Into<String>, jobs: u32, took: Duration) -> Row {
    let seconds = took.as_secs_f64();
    Row {
        backend: name(backend),
        scenario: scenario.into(),
        jobs,
        seconds,
        jobs_per_sec: f64::from(jobs) / seconds.max(1e-9),
        latency: None,
        db_cost: None,
        samples: None,
        cpu: None,
    }
}

pub(crate) fn noop_job(args: serde_json::Value) -> NewJob {
    NewJob::new(QUEUE, KIND, args)
}

async fn insert_one_by_one(backend: Backend, s: &Settings) -> Result<Row, String> {
    let (_db, store) = fresh(backend, s).await?;
    let per_task = s.jobs.div_ceil(INSERTERS);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..INSERTERS {
        let store = store.clone();
        tasks.spawn(async move {
            for n in 0..per_task {
                store
                    .job_insert(&noop_job(json!({ "n": n })))
                    .await
                    .map_err(|e| format!("insert: {e}"))?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| format!("inserter: {e}"))??;
    }
    Ok(row(
        backend,
        "insert, one by one (8 tasks)",
        per_task * INSERTERS,
        started.elapsed(),
    ))
}

async fn insert_in_batches(backend: Backend, s: &Settings) -> Result<Row, String> {
    let (_db, store) = fresh(backend, s).await?;
    let started = Instant::now();
    let inserted = insert_backlog(&store, s.jobs).await?;
    Ok(row(
        backend,
        "insert, batches of 1,000",
        inserted,
        started.elapsed(),
    ))
}

pub(crate) async fn insert_backlog(store: &Store, jobs: u32) -> Result<u32, String> {
    let mut left = jobs;
    while left > 0 {
        let n = left.min(BATCH);
        let batch: Vec<NewJob> = (0..n).map(|i| noop_job(json!({ "n": i }))).collect();
        store
            .job_insert_many(&batch)
            .await
            .map_err(|e| format!("insert_many: {e}"))?;
        left -= n;
    }
    Ok(jobs)
}

/// Clients on their own pools, as separate servers would be, each running
/// the no-op kind; `on_run` is called with each job's args.
async fn clients(
    db: &TestDb,
    s: &Settings,
    on_run: Arc<dyn Fn(&serde_json::Value) + Send + Sync>,
) -> Result<Vec<Client>, String> {
    clients_with(db, s, ClientConfig::default(), on_run).await
}

/// Clients on their own pools with `config`.
pub(crate) async fn clients_with(
    db: &TestDb,
    s: &Settings,
    config: ClientConfig,
    on_run: Arc<dyn Fn(&serde_json::Value) + Send + Sync>,
) -> Result<Vec<Client>, String> {
    // All at once, as separate servers would.
    let mut connecting = JoinSet::new();
    for _ in 0..s.clients {
        let url = s.url(db);
        connecting.spawn(async move { oncely::connect(&url).await });
    }
    let mut all = Vec::new();
    while let Some(store) = connecting.join_next().await {
        // Its own worker id, as a separate server has: the registry, and the
        // election, tell the clients apart.
        let config = ClientConfig {
            worker_id: format!("{}-{}", config.worker_id, all.len()),
            ..config.clone()
        };
        let store = store
            .map_err(|e| format!("connecting: {e}"))?
            .map_err(|e| format!("connecting: {e}"))?;
        let on_run = on_run.clone();
        let client = Client::builder(store)
            .queue(QUEUE, s.concurrency)
            .config(config)
            .register_fn(KIND, move |ctx| {
                on_run(&ctx.job().args);
                async { Ok(()) }
            })
            .build()
            .map_err(|e| format!("client: {e}"))?;
        all.push(client);
    }
    Ok(all)
}

/// A client with `config` whose handler does nothing.
pub(crate) fn noop_client(
    store: Store,
    concurrency: u32,
    config: ClientConfig,
) -> Result<Client, String> {
    Client::builder(store)
        .queue(QUEUE, concurrency)
        .config(config)
        .register_fn(KIND, |_| async { Ok(()) })
        .build()
        .map_err(|e| format!("client: {e}"))
}

pub(crate) fn completed(clients: &[Client]) -> u64 {
    clients.iter().map(|c| c.stats().snapshot().completed).sum()
}

async fn drain(backend: Backend, s: &Settings, scenario: &'static str) -> Result<Row, String> {
    let (db, store) = fresh(backend, s).await?;
    insert_backlog(&store, s.jobs).await?;
    let wal_from = match backend {
        Backend::Postgres => Some(crate::db_cost::wal_position(&db.url).await?),
        Backend::Sqlite | Backend::MariaDb => None,
    };
    // From connecting on: as a worker that starts does (and as the anchors
    // time their peers, from creating their pools).
    let started = Instant::now();
    let cpu_from = crate::cpu::CpuClock::now();
    let clients = clients(&db, s, Arc::new(|_| {})).await?;
    let running: Vec<_> = clients.iter().map(Client::start).collect();
    while completed(&clients) < u64::from(s.jobs) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    let cpu = cpu_from.and_then(|from| from.since(s.jobs));
    for r in running {
        r.shutdown().await;
    }
    drop(clients);
    let mut measured = row(backend, scenario, s.jobs, took);
    measured.cpu = cpu;
    if let Some(from) = wal_from {
        measured.db_cost = Some(crate::db_cost::since(&db.url, from, s.jobs).await?);
    }
    Ok(measured)
}

async fn latency(backend: Backend, s: &Settings) -> Result<Row, String> {
    let (db, _store) = fresh(backend, s).await?;
    let origin = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::with_capacity(s.latency_jobs as usize)));
    let record = samples.clone();
    let on_run = Arc::new(move |args: &serde_json::Value| {
        if let Some(at) = args["inserted_us"].as_u64() {
            let waited = origin.elapsed().saturating_sub(Duration::from_micros(at));
            record
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(waited);
        }
    });
    let clients = clients(&db, s, on_run).await?;
    let running: Vec<_> = clients.iter().map(Client::start).collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / s.latency_rate);
    let started = Instant::now();
    for _ in 0..s.latency_jobs {
        tick.tick().await;
        let inserted_us = origin.elapsed().as_micros() as u64;
        clients[0]
            .insert(&noop_job(json!({ "inserted_us": inserted_us })))
            .await
            .map_err(|e| format!("insert: {e}"))?;
    }
    while completed(&clients) < u64::from(s.latency_jobs) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    for r in running {
        r.shutdown().await;
    }
    let taken = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
    let mut r = row(
        backend,
        "insert-to-start latency, steady load",
        s.latency_jobs,
        took,
    );
    r.latency = Some(percentiles(taken));
    Ok(r)
}
