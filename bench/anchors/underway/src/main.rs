//! The scenarios of `oncely-bench` on underway, on a fresh database of the
//! given PostgreSQL server (see `peer-kit` for the scenarios and the common
//! options):
//!
//!   underway-bench POSTGRES_URL [--jobs N] [--clients N] [--concurrency N]
//!       [--max-drain-secs S] [--only LIST] [--poll-ms MS]
//!
//! `--poll-ms`: the workers' polling period (`Worker::run_every`); without it
//! they run with underway's default (`Worker::run`: one minute, and
//! notifications of new tasks). Workers have a concurrency limit of
//! `--concurrency`. No bulk insert: a backlog past 20,000 jobs is enqueued
//! one by one, untimed.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peer_kit::{print_drain, print_row, Done, Plan, Waits};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use underway::{Job, To};

const LIBRARY: &str = "underway 0.2.0";

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Noop {
    n: u32,
    /// Insert time (`peer_kit::now_us`) for the latency scenario, else 0.
    at: u64,
}

async fn job(pool: PgPool, done: Done, waits: Waits) -> Result<Job<Noop, ()>, Box<dyn Error>> {
    Ok(Job::builder()
        .step(move |_cx, input: Noop| {
            let (done, waits) = (done.clone(), waits.clone());
            async move {
                if input.at > 0 {
                    waits.record(input.at);
                }
                done.add();
                To::done()
            }
        })
        .name("noop")
        .pool(pool)
        .build()
        .await?)
}

async fn wal(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(peer_kit::WAL_POSITION_SQL)
        .fetch_one(pool)
        .await
}

/// Workers running the job, one per client, each with its own pool.
struct Fleet {
    handles: Vec<Arc<underway::Worker<Job<Noop, ()>>>>,
    tasks: tokio::task::JoinSet<Result<(), underway::worker::Error>>,
}

impl Fleet {
    async fn start(
        db: &str,
        plan: &Plan,
        poll_ms: Option<u32>,
        done: &Done,
        waits: &Waits,
    ) -> Result<Fleet, Box<dyn Error>> {
        let mut fleet = Fleet {
            handles: Vec::new(),
            tasks: tokio::task::JoinSet::new(),
        };
        for _ in 0..plan.clients {
            let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
            let mut worker = job(pool, done.clone(), waits.clone()).await?.worker();
            worker.set_concurrency_limit(plan.concurrency as usize);
            let worker = Arc::new(worker);
            fleet.handles.push(worker.clone());
            fleet.tasks.spawn(async move {
                match poll_ms {
                    Some(ms) => worker.run_every(jiff::Span::new().milliseconds(ms)).await,
                    None => worker.run().await,
                }
            });
        }
        Ok(fleet)
    }

    async fn stop(mut self) {
        for worker in &self.handles {
            worker.shutdown();
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let plan = Plan::from_args(&["poll-ms"])?;
    let plan = &plan;
    peer_kit::in_own_database(
        &plan.url,
        "underway",
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
    let poll_ms = plan.knob("poll-ms");
    let setting = match poll_ms {
        Some(ms) => format!("polling every {ms} ms"),
        None => "default polling".to_owned(),
    };
    let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
    underway::run_migrations(&pool).await?;
    let (done, waits) = (Done::default(), Waits::default());
    let inserter = Arc::new(job(pool.clone(), done.clone(), waits.clone()).await?);

    let (one_by_one, bulk) = plan.split();
    let j = inserter.clone();
    let took = peer_kit::one_by_one(one_by_one, move |n| {
        let j = j.clone();
        async move { j.enqueue(&Noop { n, at: 0 }).await.map(|_| ()) }
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
    // underway has no bulk insert for jobs (`Queue::enqueue_multi` takes
    // the job's sealed task input): the rest of the backlog goes in one by
    // one too, untimed.
    let j = inserter.clone();
    peer_kit::fill(bulk, move |n| {
        let j = j.clone();
        async move {
            j.enqueue(&Noop {
                n: one_by_one + n,
                at: 0,
            })
            .await
            .map(|_| ())
        }
    })
    .await?;
    if plan.only.bulk {
        println!("{LIBRARY:<24} insert in bulk: no bulk insert for jobs in its API");
    }

    if plan.only.drain {
        let wal_before = wal(&pool).await?;
        let cpu = peer_kit::MachineCpu::now();
        let started = Instant::now();
        let fleet = Fleet::start(db, plan, poll_ms, &done, &waits).await?;
        let total = u64::from(plan.jobs);
        let (finished, _) = done.wait(total, started, plan.max_drain).await;
        let took = peer_kit::settled(finished, total, started, plan.max_drain, || {
            sqlx::query_scalar("SELECT count(*) FROM underway.task WHERE state = 'succeeded'")
                .fetch_one(&pool)
        })
        .await?;
        print_drain(LIBRARY, &setting, total, finished, took, cpu.busy_since());
        fleet.stop().await;
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
                sqlx::query("DELETE FROM underway.task WHERE state <> 'succeeded'")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            },
        )
        .await?;
    }

    if plan.only.latency {
        let fleet = Fleet::start(db, plan, poll_ms, &done, &waits).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let j = inserter.clone();
        let took = peer_kit::paced(&waits, move |at| {
            let j = j.clone();
            async move { j.enqueue(&Noop { n: 0, at }).await.map(|_| ()) }
        })
        .await?;
        waits.print(LIBRARY, &setting, took);
        fleet.stop().await;
    }
    peer_kit::print_json();
    Ok(())
}
