//! The churn scenario: enqueue and drain together at a steady rate for
//! minutes, sampling throughput, backlog and the table's size, to show that
//! neither throughput nor the table drifts while the pruner and autovacuum
//! keep up.
//!
//! Completed jobs are kept for [`RETENTION`] here instead of oncely's default
//! 24 hours (the pruner then runs every [`PRUNE_EVERY`]): with a day's
//! retention the table holds a day of jobs by design, and a 10-minute run
//! could only show it growing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oncely::worker::ClientConfig;
use oncely::NewJob;
use oncely_testkit::Backend;
use serde::Serialize;
use serde_json::json;

use crate::scenarios::{clients_with, completed, fresh, noop_job, row, Row, Settings};

/// How long completed jobs are kept during the churn.
const RETENTION: Duration = Duration::from_secs(60);
/// How often the pruner runs during the churn.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Samples taken over the run.
const SAMPLES: u32 = 20;
/// Inserts per second are sent as this many batches.
const BATCHES_PER_SEC: u32 = 50;

/// One sample of the churn.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub at_secs: f64,
    /// Jobs completed per second since the previous sample.
    pub completed_per_sec: f64,
    /// Jobs inserted but not yet completed (the backlog).
    pub backlog: i64,
    /// Table and index size of the database, MiB (PostgreSQL) or file
    /// size (SQLite).
    pub size_mib: f64,
    /// Dead tuples in the database's tables (PostgreSQL).
    pub dead_tuples: i64,
}

/// Runs the churn for `s.churn_secs` at `s.churn_rate` jobs per second.
pub async fn churn(backend: Backend, s: &Settings) -> Result<Row, String> {
    let (db, store) = fresh(backend, s).await?;
    let mut config = ClientConfig::default();
    config.pruner.completed_retention = RETENTION;
    config.pruner.interval = PRUNE_EVERY;
    let clients = clients_with(&db, s, config, Arc::new(|_| {})).await?;
    let running: Vec<_> = clients.iter().map(|c| c.start()).collect();
    let inserted = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs(u64::from(s.churn_secs.max(1)));
    let per_batch = (s.churn_rate / BATCHES_PER_SEC).max(1);
    // In a JoinSet: aborted if this function returns early.
    let mut inserter = tokio::task::JoinSet::new();
    {
        let store = store.clone();
        let inserted = inserted.clone();
        inserter.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / BATCHES_PER_SEC);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let started = Instant::now();
            let mut n = 0u64;
            while started.elapsed() < duration {
                tick.tick().await;
                let batch: Vec<NewJob> = (0..per_batch)
                    .map(|i| noop_job(json!({ "n": n + u64::from(i) })))
                    .collect();
                store
                    .job_insert_many(&batch)
                    .await
                    .map_err(|e| format!("insert_many: {e}"))?;
                n += u64::from(per_batch);
                inserted.store(n, Ordering::Relaxed);
            }
            Ok::<u64, String>(n)
        });
    }
    let started = Instant::now();
    let every = duration / SAMPLES;
    let mut samples = Vec::new();
    let mut last = (Instant::now(), 0u64);
    for _ in 0..SAMPLES {
        tokio::time::sleep(every).await;
        let done = completed(&clients);
        let now = Instant::now();
        let (size_mib, dead_tuples) = size(&db, backend).await?;
        samples.push(Sample {
            at_secs: started.elapsed().as_secs_f64(),
            completed_per_sec: (done - last.1) as f64 / (now - last.0).as_secs_f64(),
            backlog: inserted.load(Ordering::Relaxed) as i64 - done as i64,
            size_mib,
            dead_tuples,
        });
        eprintln!(
            "churn {:>5.0} s: {:>7.0} jobs/s completed, backlog {:>6}, {:>7.1} MiB, {} dead tuples",
            samples[samples.len() - 1].at_secs,
            samples[samples.len() - 1].completed_per_sec,
            samples[samples.len() - 1].backlog,
            size_mib,
            dead_tuples
        );
        last = (now, done);
    }
    let total = inserter
        .join_next()
        .await
        .ok_or("the inserter is gone")?
        .map_err(|e| format!("inserter: {e}"))??;
    let took = started.elapsed();
    for r in running {
        r.shutdown().await;
    }
    let done = completed(&clients);
    let mut measured = row(
        backend,
        "churn: enqueue and drain at a steady rate",
        u32::try_from(done.min(total)).unwrap_or(u32::MAX),
        took,
    );
    measured.samples = Some(samples);
    Ok(measured)
}

/// Size (MiB) and dead tuples of the database now.
async fn size(db: &oncely_testkit::TestDb, backend: Backend) -> Result<(f64, i64), String> {
    match backend {
        Backend::Postgres => {
            let cost = crate::db_cost::now(&db.url).await?;
            Ok((cost.table_mib + cost.index_mib, cost.dead_tuples))
        }
        Backend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://");
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
                + std::fs::metadata(format!("{path}-wal"))
                    .map(|m| m.len())
                    .unwrap_or(0);
            Ok((bytes as f64 / (1024.0 * 1024.0), 0))
        }
        Backend::MariaDb => Err("churn is measured on PostgreSQL and SQLite only".into()),
    }
}
