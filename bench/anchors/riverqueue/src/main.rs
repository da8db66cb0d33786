//! The scenarios of `oncely-bench` on riverqueue (River's Rust client), on a
//! fresh database of the given PostgreSQL server:
//!
//!   riverqueue-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY] [FETCH_COOLDOWN_MS]
//!
//! FETCH_COOLDOWN_MS: River's pause between two fetches of a queue (its
//! default 100 ms; 1 ms is its minimum).
//! Insert: JOBS inserted one at a time from 8 concurrent tasks. Drain: that
//! backlog worked by CLIENTS clients (each its own pool) of CONCURRENCY
//! workers, no-op handler, timed until the database shows every job completed.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use riverqueue::sqlx::postgres::PgPoolOptions;
use riverqueue::sqlx::{self, Connection, PgConnection, PgPool};
use riverqueue::{
    migrate::PostgresMigrator, BoxError, Client, Job, JobArgs, QueueConfig, WorkContext,
    WorkOutcome, Workers,
};
use serde::{Deserialize, Serialize};

const INSERTERS: u32 = 8;

#[derive(Clone, Debug, Deserialize, JobArgs, Serialize)]
#[river(kind = "noop")]
struct Noop {
    n: u32,
}

async fn noop(_: WorkContext, _: Job<Noop>) -> Result<WorkOutcome, BoxError> {
    Ok(WorkOutcome::Complete)
}

fn client(pool: PgPool, concurrency: usize, cooldown: Duration) -> Result<Client, Box<dyn Error>> {
    let mut workers = Workers::new();
    workers.add_fn(noop)?;
    Ok(Client::builder(pool)
        .fetch_cooldown(cooldown)
        .workers(workers)
        .queue("default", QueueConfig::new(concurrency))
        .build()?)
}

async fn fresh_database(url: &str) -> Result<String, Box<dyn Error>> {
    let mut admin = PgConnection::connect(url).await?;
    let name = format!(
        "bench_river_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let (base, _) = url.rsplit_once('/').ok_or("the URL names no database")?;
    Ok(format!("{base}/{name}"))
}

fn print(scenario: &str, jobs: u32, took: Duration) {
    println!(
        "{:<24} {:<44} {:>7} {:>8.2} {:>9.0}",
        "riverqueue 0.5.0",
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
        .ok_or("usage: riverqueue-bench POSTGRES_URL [JOBS] [CLIENTS] [CONCURRENCY]")?;
    let number = |i: usize, default: u32| -> Result<u32, Box<dyn Error>> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (jobs, clients, concurrency) = (number(2, 20_000)?, number(3, 4)?, number(4, 25)?);
    let cooldown = Duration::from_millis(u64::from(number(5, 100)?));
    let db = fresh_database(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&db)
        .await?;
    PostgresMigrator::new(pool.clone()).migrate_up().await?;

    let inserter = Arc::new(client(pool.clone(), concurrency as usize, cooldown)?);
    let per_task = jobs.div_ceil(INSERTERS);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INSERTERS {
        let inserter = inserter.clone();
        tasks.spawn(async move {
            for n in 0..per_task {
                inserter.insert(Noop { n }).await?;
            }
            Ok::<(), riverqueue::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let total = per_task * INSERTERS;
    print("insert, one by one (8 tasks)", total, started.elapsed());

    let mut running = Vec::new();
    let started = Instant::now();
    for _ in 0..clients {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(&db)
            .await?;
        let c = client(pool, concurrency as usize, cooldown)?;
        running.push((c.start()?, c));
    }
    loop {
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM river_job WHERE state = 'completed'")
                .fetch_one(&pool)
                .await?;
        if done >= i64::from(total) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let scenario = format!(
        "drain a backlog (fetch cooldown {} ms)",
        cooldown.as_millis()
    );
    print(&scenario, total, started.elapsed());
    for (mut run, _client) in running {
        run.stop().await?;
    }
    Ok(())
}
