//! The drain scenario of `oncely-bench` on apalis with its PostgreSQL
//! storage, on a fresh database of the given server:
//!
//!   apalis-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY] [BUFFER] [POLL_MS]
//!
//! BUFFER and POLL_MS are apalis's fetch knobs (`Config::set_buffer_size`,
//! `Config::set_poll_interval`; its defaults are 10 and 100 ms). Insert: JOBS
//! pushed one at a time from 8 concurrent tasks. Drain: that backlog worked
//! by CLIENTS workers (each its own pool) with CONCURRENCY each and a no-op
//! handler, timed until every handler has returned.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_sql::postgres::PostgresStorage;
use apalis_sql::Config;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

const INSERTERS: u32 = 8;

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Noop {
    n: u32,
}

async fn noop(_job: Noop, done: Data<Arc<AtomicU64>>) -> Result<(), apalis::prelude::Error> {
    done.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn fresh_database(url: &str) -> Result<String, Box<dyn Error>> {
    let mut admin = PgConnection::connect(url).await?;
    let name = format!(
        "bench_apalis_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let (base, _) = url.rsplit_once('/').ok_or("the URL names no database")?;
    Ok(format!("{base}/{name}"))
}

fn print(scenario: &str, jobs: u32, took: Duration) {
    println!(
        "{:<24} {:<44} {:>7} {:>8.2} {:>9.0}",
        "apalis 0.7.4",
        scenario,
        jobs,
        took.as_secs_f64(),
        f64::from(jobs) / took.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).ok_or(
        "usage: apalis-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY] [BUFFER] [POLL_MS]",
    )?;
    let arg = |i: usize, default: u32| -> Result<u32, Box<dyn Error>> {
        Ok(args.get(i).map(|s| s.parse()).transpose()?.unwrap_or(default))
    };
    let (jobs, clients, concurrency) = (arg(2, 20_000)?, arg(3, 4)?, arg(4, 25)?);
    let (buffer, poll_ms) = (arg(5, 10)?, arg(6, 100)?);
    let db = fresh_database(url).await?;
    let pool = PgPoolOptions::new().max_connections(10).connect(&db).await?;
    PostgresStorage::setup(&pool).await?;
    let config = || {
        Config::new("bench")
            .set_buffer_size(buffer as usize)
            .set_poll_interval(Duration::from_millis(u64::from(poll_ms)))
    };
    let storage: PostgresStorage<Noop> = PostgresStorage::new_with_config(pool.clone(), config());
    let per_task = jobs.div_ceil(INSERTERS);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INSERTERS {
        let mut storage = storage.clone();
        tasks.spawn(async move {
            for n in 0..per_task {
                storage.push(Noop { n }).await?;
            }
            Ok::<(), sqlx::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let total = per_task * INSERTERS;
    print("insert, one by one (8 tasks)", total, started.elapsed());

    let done = Arc::new(AtomicU64::new(0));
    let mut monitor = Monitor::new();
    for c in 0..clients {
        let pool = PgPoolOptions::new().max_connections(10).connect(&db).await?;
        let storage: PostgresStorage<Noop> = PostgresStorage::new_with_config(pool, config());
        let worker = WorkerBuilder::new(format!("bench-{c}"))
            .concurrency(concurrency as usize)
            .data(done.clone())
            .backend(storage)
            .build_fn(noop);
        monitor = monitor.register(worker);
    }
    let started = Instant::now();
    let watched = done.clone();
    // The drain's time, taken when the last handler has returned (the
    // monitor's shutdown afterwards is not timed).
    let took_us = Arc::new(AtomicU64::new(0));
    let took = took_us.clone();
    let finished = async move {
        while watched.load(Ordering::Relaxed) < u64::from(total) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        took.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(())
    };
    monitor
        .shutdown_timeout(Duration::from_secs(5))
        .run_with_signal(finished)
        .await?;
    let setting = format!("drain a backlog (buffer {buffer}, poll {poll_ms} ms)");
    print(&setting, total, Duration::from_micros(took_us.load(Ordering::Relaxed)));
    Ok(())
}
