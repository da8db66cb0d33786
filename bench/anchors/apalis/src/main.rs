//! The scenarios of `oncely-bench` on apalis with its PostgreSQL storage, on
//! a fresh database of the given server (see `peer-kit` for the scenarios
//! and the common options):
//!
//!   apalis-bench POSTGRES_URL [--jobs N] [--clients N] [--concurrency N]
//!       [--max-drain-secs S] [--only LIST] [--buffer N] [--poll-ms MS]
//!
//! `--buffer` and `--poll-ms` are apalis's fetch knobs
//! (`Config::set_buffer_size`, `Config::set_poll_interval`; its defaults are
//! 10 and 100 ms). Each client is a worker with `--concurrency`. No bulk
//! insert in its storage API: a backlog past 20,000 jobs is pushed one by
//! one, untimed.

use std::error::Error;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_sql::postgres::PostgresStorage;
use apalis_sql::Config;
use peer_kit::{print_drain, print_row, Done, Plan, Waits};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

const LIBRARY: &str = "apalis 0.7.4";

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Noop {
    n: u32,
    /// Insert time (`peer_kit::now_us`) for the latency scenario, else 0.
    at: u64,
}

async fn noop(
    job: Noop,
    done: Data<Done>,
    waits: Data<Waits>,
) -> Result<(), apalis::prelude::Error> {
    if job.at > 0 {
        waits.record(job.at);
    }
    done.add();
    Ok(())
}

async fn wal(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(peer_kit::WAL_POSITION_SQL)
        .fetch_one(pool)
        .await
}

/// The fetch knobs.
#[derive(Clone, Copy)]
struct Fetch {
    buffer: u32,
    poll_ms: u32,
}

impl Fetch {
    fn config(self) -> Config {
        Config::new("bench")
            .set_buffer_size(self.buffer as usize)
            .set_poll_interval(Duration::from_millis(u64::from(self.poll_ms)))
    }
}

/// Runs `clients` workers until `until` resolves (then shuts them down).
async fn run_fleet<F>(
    db: &str,
    plan: &Plan,
    fetch: Fetch,
    done: &Done,
    waits: &Waits,
    until: F,
) -> Result<(), Box<dyn Error>>
where
    F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let mut monitor = Monitor::new();
    for c in 0..plan.clients {
        let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
        let storage: PostgresStorage<Noop> = PostgresStorage::new_with_config(pool, fetch.config());
        let worker = WorkerBuilder::new(format!("bench-{c}"))
            .concurrency(plan.concurrency as usize)
            .data(done.clone())
            .data(waits.clone())
            .backend(storage)
            .build_fn(noop);
        monitor = monitor.register(worker);
    }
    monitor
        .shutdown_timeout(Duration::from_secs(5))
        .run_with_signal(until)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let plan = Plan::from_args(&["buffer", "poll-ms"])?;
    let plan = &plan;
    peer_kit::in_own_database(
        &plan.url,
        "apalis",
        |sql| admin(&plan.url, sql),
        |db| async move { run(plan, &db).await },
    )
    .await
}

/// Runs one statement (`CREATE DATABASE`, `DROP DATABASE`) on the server at `url`.
async fn admin(url: &str, sql: String) -> Result<(), Box<dyn Error>> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query(&sql).execute(&mut conn).await?;
    Ok(())
}

/// Every scenario `plan` asks for, on the database at `db`.
async fn run(plan: &Plan, db: &str) -> Result<(), Box<dyn Error>> {
    let fetch = Fetch {
        buffer: plan.knob("buffer").unwrap_or(10),
        poll_ms: plan.knob("poll-ms").unwrap_or(100),
    };
    let setting = format!("buffer {}, poll {} ms", fetch.buffer, fetch.poll_ms);
    let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
    PostgresStorage::setup(&pool).await?;
    let storage: PostgresStorage<Noop> =
        PostgresStorage::new_with_config(pool.clone(), fetch.config());
    let (done, waits) = (Done::default(), Waits::default());

    let (one_by_one, bulk) = plan.split();
    let s = storage.clone();
    let took = peer_kit::one_by_one(one_by_one, move |n| {
        let mut s = s.clone();
        async move { s.push(Noop { n, at: 0 }).await.map(|_| ()) }
    })
    .await?;
    if plan.only.insert {
        print_row(
            LIBRARY,
            "insert, one by one (8 tasks)",
            one_by_one.into(),
            took,
        );
    }
    let s = storage.clone();
    peer_kit::fill(bulk, move |n| {
        let mut s = s.clone();
        async move {
            s.push(Noop {
                n: one_by_one + n,
                at: 0,
            })
            .await
            .map(|_| ())
        }
    })
    .await?;
    if plan.only.bulk {
        println!("{LIBRARY:<24} insert in bulk: no bulk insert in its storage API");
    }

    if plan.only.drain {
        let wal_before = wal(&pool).await?;
        let total = u64::from(plan.jobs);
        let cpu = peer_kit::MachineCpu::now();
        let started = Instant::now();
        let (watch, count, cap) = (done.clone(), pool.clone(), plan.max_drain);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let until = async move {
            let (finished, _) = watch.wait(total, started, cap).await;
            let took = peer_kit::settled(finished, total, started, cap, || {
                sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE status = 'Done'")
                    .fetch_one(&count)
            })
            .await
            .map_err(std::io::Error::other)?;
            let _ = tx.send((finished, took, cpu.busy_since()));
            Ok(())
        };
        run_fleet(db, plan, fetch, &done, &waits, until).await?;
        let (finished, took, busy) = rx.await?;
        print_drain(LIBRARY, &setting, total, finished, took, busy);
        peer_kit::after_drain(
            LIBRARY,
            &setting,
            (total, finished),
            wal_before,
            || async {
                let tables = sqlx::query_as(peer_kit::TABLE_COST_SQL)
                    .fetch_one(&pool)
                    .await?;
                Ok((wal(&pool).await?, tables))
            },
            || async {
                sqlx::query("DELETE FROM apalis.jobs WHERE status <> 'Done'")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            },
        )
        .await?;
    }

    if plan.only.latency {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (s, w) = (storage.clone(), waits.clone());
        let until = async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let took = peer_kit::paced(&w, move |at| {
                let mut s = s.clone();
                async move { s.push(Noop { n: 0, at }).await.map(|_| ()) }
            })
            .await
            .map_err(std::io::Error::other)?;
            let _ = tx.send(took);
            Ok(())
        };
        run_fleet(db, plan, fetch, &done, &waits, until).await?;
        waits.print(LIBRARY, &setting, rx.await?);
    }
    peer_kit::print_json();
    Ok(())
}
