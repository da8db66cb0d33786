//! The scenarios of `oncely-bench` on underway, on a fresh database of the
//! given PostgreSQL server:
//!
//!   underway-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY] [POLL_MS]
//!
//! POLL_MS: the workers' polling period (`Worker::run_every`); without it
//! they run with underway's default (`Worker::run`: one minute, and
//! notifications of new tasks).
//! Insert: JOBS enqueued one at a time from 8 concurrent tasks. Drain: that
//! backlog worked by CLIENTS workers (each its own pool) with a concurrency
//! limit of CONCURRENCY, a no-op step, timed until the database shows every
//! task succeeded.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use underway::{Job, To};

const INSERTERS: u32 = 8;

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Noop {
    n: u32,
}

async fn job(pool: PgPool) -> Result<Job<Noop, ()>, Box<dyn Error>> {
    Ok(Job::builder()
        .step(|_cx, _: Noop| async move { To::done() })
        .name("noop")
        .pool(pool)
        .build()
        .await?)
}

async fn fresh_database(url: &str) -> Result<String, Box<dyn Error>> {
    let mut admin = PgConnection::connect(url).await?;
    let name = format!(
        "bench_underway_{}_{}",
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
        "underway 0.2.0",
        scenario,
        jobs,
        took.as_secs_f64(),
        f64::from(jobs) / took.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .ok_or("usage: underway-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY]")?;
    let number = |i: usize, default: u32| -> Result<u32, Box<dyn Error>> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (jobs, clients, concurrency) = (number(2, 20_000)?, number(3, 4)?, number(4, 25)?);
    let poll_ms = args.get(5).map(|s| s.parse::<i64>()).transpose()?;
    let db = fresh_database(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&db)
        .await?;
    underway::run_migrations(&pool).await?;

    let inserter = Arc::new(job(pool.clone()).await?);
    let per_task = jobs.div_ceil(INSERTERS);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INSERTERS {
        let inserter = inserter.clone();
        tasks.spawn(async move {
            for n in 0..per_task {
                inserter.enqueue(&Noop { n }).await?;
            }
            Ok::<(), underway::job::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let total = per_task * INSERTERS;
    print("insert, one by one (8 tasks)", total, started.elapsed());

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(&db)
            .await?;
        let mut worker = job(pool).await?.worker();
        worker.set_concurrency_limit(concurrency as usize);
        let worker = Arc::new(worker);
        handles.push(worker.clone());
        workers.spawn(async move {
            match poll_ms {
                Some(ms) => worker.run_every(jiff::Span::new().milliseconds(ms)).await,
                None => worker.run().await,
            }
        });
    }
    loop {
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM underway.task WHERE state = 'succeeded'")
                .fetch_one(&pool)
                .await?;
        if done >= i64::from(total) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let scenario = match poll_ms {
        Some(ms) => format!("drain a backlog (polling every {ms} ms)"),
        None => "drain a backlog (default polling)".to_owned(),
    };
    print(&scenario, total, started.elapsed());
    for worker in handles {
        worker.shutdown();
    }
    while workers.join_next().await.is_some() {}
    Ok(())
}
