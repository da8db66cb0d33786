//! The scenarios of `oncely-bench` on riverqueue (River's Rust client), on a
//! fresh database of the given PostgreSQL server (see `peer-kit` for the
//! scenarios and the common options):
//!
//!   riverqueue-bench POSTGRES_URL [--jobs N] [--clients N] [--concurrency N]
//!       [--max-drain-secs S] [--only LIST] [--fetch-cooldown-ms MS] [--fetch-poll-ms MS]
//!
//! `--fetch-cooldown-ms`: River's least pause between two fetches of a queue
//! (default 100 ms, minimum 1 ms); `--fetch-poll-ms`: how often a queue polls
//! when no insert notification arrives (default 1 s, at least the cooldown).
//! Bulk insert: `Client::insert_many` in batches of 1,000.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peer_kit::{print_drain, print_row, Done, Plan, Waits};
use riverqueue::sqlx::postgres::PgPoolOptions;
use riverqueue::sqlx::{self, Connection, PgConnection, PgPool};
use riverqueue::{
    migrate::PostgresMigrator, BoxError, Client, Job, JobArgs, QueueConfig, WorkContext,
    WorkOutcome, Workers,
};
use serde::{Deserialize, Serialize};

const LIBRARY: &str = "riverqueue 0.5.0";

#[derive(Clone, Debug, Deserialize, JobArgs, Serialize)]
#[river(kind = "noop")]
struct Noop {
    n: u32,
    /// Insert time (`peer_kit::now_us`) for the latency scenario, else 0.
    at: u64,
}

/// How the clients fetch.
#[derive(Clone, Copy)]
struct Fetch {
    cooldown: Duration,
    poll: Duration,
}

impl Fetch {
    fn describe(self) -> String {
        format!(
            "fetch cooldown {} ms, poll {} ms",
            self.cooldown.as_millis(),
            self.poll.as_millis()
        )
    }
}

fn client(
    pool: PgPool,
    concurrency: usize,
    fetch: Fetch,
    done: Done,
    waits: Waits,
) -> Result<Client, Box<dyn Error>> {
    let mut workers = Workers::new();
    workers.add_fn(move |_: WorkContext, job: Job<Noop>| {
        let (done, waits) = (done.clone(), waits.clone());
        async move {
            if job.args.at > 0 {
                waits.record(job.args.at);
            }
            done.add();
            Ok::<_, BoxError>(WorkOutcome::Complete)
        }
    })?;
    Ok(Client::builder(pool)
        .fetch_cooldown(fetch.cooldown)
        .workers(workers)
        .queue(
            "default",
            QueueConfig::new(concurrency).with_fetch_poll_interval(fetch.poll),
        )
        .build()?)
}

async fn wal(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(peer_kit::WAL_POSITION_SQL)
        .fetch_one(pool)
        .await
}

/// `clients` started clients, each with its own pool.
async fn start(
    db: &str,
    plan: &Plan,
    fetch: Fetch,
    done: &Done,
    waits: &Waits,
) -> Result<Vec<(riverqueue::RunHandle, Client)>, Box<dyn Error>> {
    let mut running = Vec::new();
    for _ in 0..plan.clients {
        let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
        let c = client(
            pool,
            plan.concurrency as usize,
            fetch,
            done.clone(),
            waits.clone(),
        )?;
        running.push((c.start()?, c));
    }
    Ok(running)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let plan = Plan::from_args(&["fetch-cooldown-ms", "fetch-poll-ms"])?;
    let plan = &plan;
    peer_kit::in_own_database(
        &plan.url,
        "river",
        |sql| admin(&plan.url, sql),
        |db| async move { run(plan, &db).await },
    )
    .await
}

/// Runs one statement (`CREATE DATABASE`, `DROP DATABASE`) on the server at `url`.
async fn admin(url: &str, sql: String) -> Result<(), Box<dyn Error>> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Every scenario `plan` asks for, on the database at `db`.
async fn run(plan: &Plan, db: &str) -> Result<(), Box<dyn Error>> {
    let cooldown = Duration::from_millis(u64::from(plan.knob("fetch-cooldown-ms").unwrap_or(100)));
    let poll = Duration::from_millis(u64::from(plan.knob("fetch-poll-ms").unwrap_or(1000)));
    let fetch = Fetch {
        cooldown,
        poll: poll.max(cooldown),
    };
    let setting = fetch.describe();
    let pool = PgPoolOptions::new().max_connections(10).connect(db).await?;
    PostgresMigrator::new(pool.clone()).migrate_up().await?;
    let (done, waits) = (Done::default(), Waits::default());
    let inserter = Arc::new(client(pool.clone(), 1, fetch, done.clone(), waits.clone())?);

    let (one_by_one, bulk) = plan.split();
    let c = inserter.clone();
    let took = peer_kit::one_by_one(one_by_one, move |n| {
        let c = c.clone();
        async move { c.insert(Noop { n, at: 0 }).await.map(|_| ()) }
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
    let started = Instant::now();
    for from in (one_by_one..plan.jobs).step_by(1000) {
        let batch = (from..plan.jobs.min(from + 1000)).map(|n| Noop { n, at: 0 });
        inserter.insert_many(batch.collect::<Vec<_>>()).await?;
    }
    if plan.only.bulk && bulk > 0 {
        print_row(
            LIBRARY,
            "insert, batches of 1,000 (insert_many)",
            bulk.into(),
            started.elapsed(),
        );
    }

    if plan.only.drain {
        let wal_before = wal(&pool).await?;
        let cpu = peer_kit::MachineCpu::now();
        let started = Instant::now();
        let mut running = start(db, plan, fetch, &done, &waits).await?;
        let total = u64::from(plan.jobs);
        let (finished, _) = done.wait(total, started, plan.max_drain).await;
        let took = peer_kit::settled(finished, total, started, plan.max_drain, || {
            sqlx::query_scalar("SELECT count(*) FROM river_job WHERE state = 'completed'")
                .fetch_one(&pool)
        })
        .await?;
        print_drain(LIBRARY, &setting, total, finished, took, cpu.busy_since());
        for (run, _client) in running.iter_mut() {
            run.stop().await?;
        }
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
                sqlx::query("DELETE FROM river_job WHERE state <> 'completed'")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            },
        )
        .await?;
    }

    if plan.only.latency {
        let mut running = start(db, plan, fetch, &done, &waits).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let c = inserter.clone();
        let took = peer_kit::paced(&waits, move |at| {
            let c = c.clone();
            async move { c.insert(Noop { n: 0, at }).await.map(|_| ()) }
        })
        .await?;
        waits.print(LIBRARY, &setting, took);
        for (run, _client) in running.iter_mut() {
            run.stop().await?;
        }
    }
    peer_kit::print_json();
    Ok(())
}
