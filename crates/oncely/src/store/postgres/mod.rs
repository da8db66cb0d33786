//! The PostgreSQL driver: the path for many servers sharing one database.
//!
//! Invariants: claims are one statement with `FOR UPDATE SKIP LOCKED`, so
//! losers of a race claim other rows (or none) and never wait or fail;
//! fencing tokens come from one sequence, so they grow across all jobs;
//! every lease instant comes from the server's clock.

mod hosts;
mod lane;
mod listener;
mod migrations;
mod notifier;
mod operator;
mod periodic;
pub mod pooled;
mod rows;
mod workers;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};

use super::decode::{self, lease_lost};
use super::{
    ActionFilter, Backend, ClaimParams, Decision, Driver, Fence, InsertOutcome, JobFilter,
    MigrationReport, OperatorAction, QueueCount, QueueState, ReconcileClaim, RescueReport,
    RetryParams, StepRecord,
};
use crate::error::Result;
use crate::job::{Job, JobState, NewJob};

pub use listener::PgJobListener;

/// Connections opened when the driver connects (at most the pool size).
const WARM_CONNECTIONS: u32 = 3;
use notifier::Notifier;
pub use notifier::NOTIFY_EVERY;
use pooled::{Held, In, Mode, On};

/// How long the first connection may take before connecting fails.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per pool unless the URL's caller sets another size.
const DEFAULT_POOL_SIZE: u32 = 10;

/// The PostgreSQL backend.
#[derive(Debug, Clone)]
pub struct PgDriver {
    pool: PgPool,
    notifier: std::sync::Arc<Notifier>,
    /// Several hosts behind the URL: where writes go, and where they went.
    hosts: Option<std::sync::Arc<hosts::Hosts>>,
    /// Straight to the server, or behind a transaction pooler.
    mode: Mode,
    /// Where LISTEN connects when it cannot go through the pool.
    listen: Option<PgConnectOptions>,
    /// The connections kept for the claim and the batched completion.
    lanes: std::sync::Arc<Lanes>,
}

/// The hot statements' lanes (see [`lane`]).
#[derive(Debug, Default)]
struct Lanes {
    claim: lane::Lane,
    complete: lane::Lane,
}

impl PgDriver {
    /// Connects to `url` with a pool of 10 connections.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_pool_size(url, DEFAULT_POOL_SIZE).await
    }

    /// Connects to `url` with a pool of `size` connections. A server that
    /// cannot be reached fails within [`CONNECT_TIMEOUT`], naming its address
    /// and the cause ([`crate::Error::Connect`]).
    pub async fn connect_with_pool_size(url: &str, size: u32) -> Result<Self> {
        let (url, pooler) = pooled::take_settings(url)?;
        let mut driver = Self::connect_hosts(&url, size).await?;
        driver.mode = pooler.mode;
        if let Some((host, port)) = pooler.listen {
            let base = driver.pool.connect_options();
            driver.listen = Some((*base).clone().host(&host).port(port));
        }
        if driver.mode == Mode::Transaction {
            tracing::info!(
                listen = driver.listen.is_some(),
                "behind a transaction pooler: unnamed statements, one transaction each{}",
                if driver.listen.is_some() {
                    ""
                } else {
                    "; workers poll (no LISTEN)"
                }
            );
        }
        Ok(driver)
    }

    async fn connect_hosts(url: &str, size: u32) -> Result<Self> {
        let candidates = hosts::split(url)?
            .iter()
            .map(|one| {
                one.parse::<PgConnectOptions>()
                    .map(|o| o.application_name("oncely"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if candidates.len() > 1 {
            return Self::connect_replicated(candidates, size).await;
        }
        let Some(options) = candidates.into_iter().next() else {
            return Err(crate::Error::BadUrl {
                url: hosts::redact(url),
                reason: "no host".into(),
            });
        };
        let address = hosts::address(&options);
        let failed = |cause: String| crate::Error::Connect {
            backend: "PostgreSQL",
            address: address.clone(),
            cause,
        };
        // One connection first, so an unreachable server says why at once
        // (the pool would retry quietly until its acquire timeout).
        match tokio::time::timeout(
            CONNECT_TIMEOUT,
            <PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await
        {
            Ok(Ok(first)) => {
                let _ = sqlx::Connection::close(first).await;
            }
            Ok(Err(e)) => return Err(failed(e.to_string())),
            Err(_) => {
                return Err(failed(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(size.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
            .connect_lazy_with(options);
        warm(&pool, size).await;
        Ok(PgDriver::from_pool(pool))
    }

    /// Connects to the host of `candidates` that accepts writes; the pool
    /// opens connections only to a server not in recovery and drops those
    /// opened before a switch ([`Driver::ensure_primary`]).
    async fn connect_replicated(candidates: Vec<PgConnectOptions>, size: u32) -> Result<Self> {
        let addresses: Vec<String> = candidates.iter().map(hosts::address).collect();
        let hosts = std::sync::Arc::new(hosts::Hosts::new(candidates, 0));
        let index = hosts
            .find_primary()
            .await
            .map_err(|why| crate::Error::Connect {
                backend: "PostgreSQL",
                address: addresses.join(","),
                cause: format!("no host accepts writes: {why}"),
            })?;
        hosts.switch_to(index);
        let since = hosts.clone();
        let pool = PgPoolOptions::new()
            .max_connections(size.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    if hosts::in_recovery(conn).await? {
                        return Err(sqlx::Error::Protocol(
                            "the server is in recovery (a standby): oncely writes only to the primary"
                                .into(),
                        ));
                    }
                    Ok(())
                })
            })
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                // Opened before the last switch: to the old primary.
                let fresh = meta.age < since.since_switch();
                Box::pin(async move { Ok(fresh && ping_if_idle(conn, meta).await?) })
            })
            .connect_lazy_with(hosts.candidates[index].clone());
        warm(&pool, size).await;
        tracing::info!(primary = %addresses[index], hosts = %addresses.join(","), "connected to the primary");
        Ok(PgDriver {
            pool,
            notifier: Default::default(),
            hosts: Some(hosts),
            mode: Mode::Direct,
            listen: None,
            lanes: Default::default(),
        })
    }

    /// Wraps an existing pool (an application sharing its database).
    pub fn from_pool(pool: PgPool) -> Self {
        PgDriver {
            pool,
            notifier: Default::default(),
            hosts: None,
            mode: Mode::Direct,
            listen: None,
            lanes: Default::default(),
        }
    }

    /// Straight to the server, or behind a transaction pooler (URL
    /// `?pooler=transaction`).
    pub fn pooler_mode(&self) -> Mode {
        self.mode
    }

    /// The connection pool, for applications that keep their own tables in
    /// the same database (and use [`insert_tx`] / [`complete_tx`]).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool as an executor, as [`Mode`] wants statements run: an
    /// application sharing oncely's pool runs its own statements through it
    /// (and [`pooled::In`] on its transactions) to work behind a
    /// transaction pooler too.
    pub fn on(&self) -> On<'_> {
        On {
            pool: &self.pool,
            mode: self.mode,
        }
    }

    async fn fenced(
        &self,
        sql: &'static str,
        fence: Fence,
        extra: Extra<'_>,
    ) -> Result<PgRowValue> {
        let mut held = Held::take(&self.pool, self.mode).await?;
        let value = fenced_on(held.conn(), self.mode, sql, fence, extra).await?;
        held.done().await?;
        Ok(value)
    }

    /// Runs a claim statement (normal, or in-doubt with `reconcile`); jobs in
    /// claim order, and the instant the claim was sent once a connection was
    /// at hand (the leases it grants count from the database's clock at or
    /// after it).
    async fn claim_with(
        &self,
        sql: &'static str,
        params: &ClaimParams,
        reconcile: Option<&ReconcileClaim>,
    ) -> Result<(Vec<Job>, Instant)> {
        if params.limit == 0 || params.kinds.is_empty() {
            return Ok((Vec::new(), Instant::now()));
        }
        let mut query = sqlx::query(sql)
            .bind(&params.queue)
            .bind(&params.kinds)
            .bind(i64::from(params.limit))
            .bind(params.lease.as_secs_f64())
            .bind(&params.worker_id);
        if let Some(reconcile) = reconcile {
            query = query
                .bind(&reconcile.every_job_kinds)
                .bind(reconcile.settle.as_secs_f64());
        }
        // The claim of due jobs pins its plan (see claim_plan.sql); the
        // in-doubt claim reads a small partial index and needs no pin.
        // It runs on the claim's lane (see `lane`).
        let (rows, sent) = if reconcile.is_none() {
            let mut leased = self
                .lanes
                .claim
                .lease(&self.pool, self.hosts.as_ref())
                .await?;
            // Connecting (or waiting for a pooled connection) can take long
            // on a loaded machine; it must not eat into the leases.
            let sent = Instant::now();
            let mode = self.mode;
            let claimed = async {
                let mut tx = sqlx::Connection::begin(leased.conn()).await?;
                sqlx::query(include_str!("sql/claim_plan.sql"))
                    .execute(In(&mut tx, mode))
                    .await?;
                let rows = query.fetch_all(In(&mut tx, mode)).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(rows)
            }
            .await;
            (leased.settle(claimed)?, sent)
        } else {
            let sent = Instant::now();
            (query.fetch_all(self.on()).await?, sent)
        };
        let (jobs, unreadable) = rows::claimed(&rows)?;
        for (fence, reason) in unreadable {
            tracing::error!(job = fence.job_id, %reason, "quarantining a claimed job");
            sqlx::query(include_str!("sql/job_quarantine.sql"))
                .bind(fence.job_id)
                .bind(fence.fence)
                .bind(&reason)
                .fetch_optional(self.on())
                .await?;
        }
        Ok((jobs, sent))
    }

    /// Why an operator's write on job `id` took no effect: it does not exist,
    /// or its state does not allow `action`.
    async fn refusal(&self, id: i64, action: &'static str) -> Result<crate::Error> {
        Ok(match self.job_get(id).await? {
            None => crate::Error::NotFound(id),
            Some(job) => crate::Error::InvalidTransition {
                id,
                state: job.state,
                action,
            },
        })
    }
}

/// A connection idle this long is checked (a round trip) before the pool
/// hands it out; one used more recently is handed out as it is.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The pool's check of a connection it is about to hand out. sqlx would ping
/// every one (a round trip before every statement: a tenth of a drain's
/// time); only those idle for [`PING_IDLE_AFTER`] are, as a server restart or
/// a failover leaves them broken. A connection broken within that second
/// fails its statement, which every caller handles (and the lanes drop).
async fn ping_if_idle(
    conn: &mut PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::result::Result<bool, sqlx::Error> {
    if meta.idle_for >= PING_IDLE_AFTER {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(true)
}

/// Opens the connections a worker needs first (claims, completions,
/// heartbeats) now rather than at its first jobs. Best effort: the server
/// answered a moment ago; the pool retries what fails here.
async fn warm(pool: &PgPool, size: u32) {
    let warm = (0..size.clamp(1, WARM_CONNECTIONS)).map(|_| pool.acquire());
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, futures_util::future::join_all(warm)).await;
}

/// Extra binds of a fenced statement, after id and fence.
#[derive(Clone, Copy)]
enum Extra<'a> {
    None,
    Seconds(f64),
    Text(&'a str),
    TextSeconds(&'a str, f64),
    TextSecondsFlag(&'a str, f64, bool),
    Flags(bool, bool),
}

/// The first column returned by a fenced statement.
enum PgRowValue {
    Text(String),
    Id,
}

async fn fenced_on(
    conn: &mut PgConnection,
    mode: Mode,
    sql: &'static str,
    fence: Fence,
    extra: Extra<'_>,
) -> Result<PgRowValue> {
    let row = fenced_row(conn, mode, sql, fence, extra).await?;
    if let Ok(text) = row.try_get::<String, _>(0) {
        Ok(PgRowValue::Text(text))
    } else {
        Ok(PgRowValue::Id)
    }
}

/// Runs a fenced statement; its returned row, or `LeaseLost` explained by the
/// job's current state and token.
async fn fenced_row(
    conn: &mut PgConnection,
    mode: Mode,
    sql: &'static str,
    fence: Fence,
    extra: Extra<'_>,
) -> Result<sqlx::postgres::PgRow> {
    let query = sqlx::query(sql).bind(fence.job_id).bind(fence.fence);
    let query = match extra {
        Extra::None => query,
        Extra::Seconds(s) => query.bind(s),
        Extra::Text(t) => query.bind(t),
        Extra::TextSeconds(t, s) => query.bind(t).bind(s),
        Extra::TextSecondsFlag(t, s, b) => query.bind(t).bind(s).bind(b),
        Extra::Flags(a, b) => query.bind(a).bind(b),
    };
    match query.fetch_optional(In(conn, mode)).await? {
        Some(row) => Ok(row),
        None => {
            let current = sqlx::query(include_str!("sql/job_fence_state.sql"))
                .bind(fence.job_id)
                .fetch_optional(In(conn, mode))
                .await?
                .map(|r| -> Result<(String, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?;
            Err(lease_lost(fence, current))
        }
    }
}

fn returned_state(fence: Fence, value: PgRowValue) -> Result<JobState> {
    match value {
        PgRowValue::Text(raw) => decode::state(fence.job_id, &raw),
        _ => Err(decode::corrupt(
            Some(fence.job_id),
            "state was not returned",
        )),
    }
}

/// Inserts a job inside the caller's transaction: it exists (and wakes
/// workers) only if that transaction commits. Its statements are unnamed, so
/// it works behind a transaction-pooling PgBouncer too.
pub async fn insert_tx(conn: &mut PgConnection, job: &NewJob) -> Result<InsertOutcome> {
    let args = job.validate()?;
    insert_on(conn, Mode::Transaction, job, args, None).await
}

/// Inserts a validated job (`args` serialized) on `conn`. An available job
/// wakes its queue's workers: always without a `notifier`, else when the
/// notifier says the queue is due.
async fn insert_on(
    conn: &mut PgConnection,
    mode: Mode,
    job: &NewJob,
    args: String,
    notifier: Option<&Notifier>,
) -> Result<InsertOutcome> {
    let inserted = sqlx::query(include_str!("sql/job_insert.sql"))
        .bind(&job.queue)
        .bind(&job.kind)
        .bind(args)
        .bind(job.priority)
        .bind(job.run_at)
        .bind(job.max_attempts)
        .bind(&job.unique_key)
        .bind(job.idempotency_key_or_random())
        .bind(job.stored_at_most_once())
        .bind(job.timeout_ms())
        .bind(job.reconcilable)
        .fetch_optional(In(conn, mode))
        .await?;
    if let Some(row) = inserted {
        let job = rows::job(&row)?;
        if job.state == JobState::Available && notifier.is_none_or(|n| n.due(&job.queue)) {
            notifier::notify(conn, mode, &job.queue).await?;
        }
        return Ok(InsertOutcome {
            job,
            inserted: true,
        });
    }
    let key = job.unique_key.as_deref().unwrap_or_default();
    let existing = sqlx::query(include_str!("sql/job_get_by_unique_key.sql"))
        .bind(key)
        .fetch_optional(In(conn, mode))
        .await?;
    match existing {
        Some(row) => Ok(InsertOutcome {
            job: rows::job(&row)?,
            inserted: false,
        }),
        None => Err(decode::corrupt(
            None,
            format!("insert of unique key {key:?} conflicted but no holder was visible"),
        )),
    }
}

/// Completes the attempt inside the caller's transaction, so the
/// application's own writes and the completion commit together or not at
/// all. Its statements are unnamed (works behind a transaction pooler).
pub async fn complete_tx(conn: &mut PgConnection, fence: Fence) -> Result<()> {
    fenced_on(
        conn,
        Mode::Transaction,
        include_str!("sql/job_complete.sql"),
        fence,
        Extra::None,
    )
    .await
    .map(|_| ())
}

#[async_trait]
impl Driver for PgDriver {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<MigrationReport> {
        migrations::apply(self.on()).await
    }

    async fn check_schema(&self) -> Result<()> {
        migrations::check(self.on()).await
    }

    async fn db_now(&self) -> Result<DateTime<Utc>> {
        Ok(sqlx::query_scalar(include_str!("sql/db_now.sql"))
            .fetch_one(self.on())
            .await?)
    }

    async fn job_insert(&self, job: &NewJob) -> Result<InsertOutcome> {
        let args = job.validate()?;
        let notifier = Some(self.notifier.as_ref());
        // A conflicting holder can finish between our insert and our read;
        // then the insert is tried again.
        for _ in 0..3 {
            let mut held = Held::take(&self.pool, self.mode).await?;
            match insert_on(held.conn(), self.mode, job, args.clone(), notifier).await {
                Err(crate::Error::CorruptRow { id: None, .. }) => continue,
                Err(e) => return Err(e),
                Ok(outcome) => {
                    held.done().await?;
                    return Ok(outcome);
                }
            }
        }
        let mut held = Held::take(&self.pool, self.mode).await?;
        let outcome = insert_on(held.conn(), self.mode, job, args, notifier).await?;
        held.done().await?;
        Ok(outcome)
    }

    async fn job_insert_many(&self, jobs: &[NewJob]) -> Result<u64> {
        let mut args = Vec::with_capacity(jobs.len());
        for job in jobs {
            args.push(job.validate()?);
        }
        if jobs.is_empty() {
            return Ok(0);
        }
        let col = |f: &dyn Fn(&NewJob) -> String| jobs.iter().map(f).collect::<Vec<String>>();
        let inserted = sqlx::query(include_str!("sql/job_insert_many.sql"))
            .bind(col(&|j| j.queue.clone()))
            .bind(col(&|j| j.kind.clone()))
            .bind(args)
            .bind(jobs.iter().map(|j| j.priority).collect::<Vec<i16>>())
            .bind(
                jobs.iter()
                    .map(|j| j.run_at)
                    .collect::<Vec<Option<DateTime<Utc>>>>(),
            )
            .bind(jobs.iter().map(|j| j.max_attempts).collect::<Vec<i32>>())
            .bind(
                jobs.iter()
                    .map(|j| j.unique_key.clone())
                    .collect::<Vec<Option<String>>>(),
            )
            .bind(col(&|j| j.idempotency_key_or_random()))
            .bind(
                jobs.iter()
                    .map(|j| j.stored_at_most_once())
                    .collect::<Vec<bool>>(),
            )
            .bind(
                jobs.iter()
                    .map(|j| j.timeout_ms())
                    .collect::<Vec<Option<i64>>>(),
            )
            .bind(jobs.iter().map(|j| j.reconcilable).collect::<Vec<bool>>())
            .fetch_all(self.on())
            .await?;
        if !inserted.is_empty() {
            // Wake the queues that got jobs to run now (unique-key skips aside).
            let now = Utc::now();
            let mut queues: Vec<&str> = jobs
                .iter()
                .filter(|j| j.run_at.is_none_or(|t| t <= now))
                .map(|j| j.queue.as_str())
                .collect();
            queues.sort_unstable();
            queues.dedup();
            let mut held = Held::take(&self.pool, self.mode).await?;
            for queue in queues {
                if self.notifier.due(queue) {
                    notifier::notify(held.conn(), self.mode, queue).await?;
                }
            }
            held.done().await?;
        }
        Ok(inserted.len() as u64)
    }

    async fn job_claim(&self, params: &ClaimParams) -> Result<Vec<Job>> {
        Ok(self.job_claim_sent(params).await?.0)
    }

    async fn job_claim_sent(&self, params: &ClaimParams) -> Result<(Vec<Job>, Instant)> {
        self.claim_with(include_str!("sql/job_claim.sql"), params, None)
            .await
    }

    async fn job_heartbeat(&self, fence: Fence, lease: Duration) -> Result<super::Heartbeat> {
        let mut held = Held::take(&self.pool, self.mode).await?;
        let row = fenced_row(
            held.conn(),
            self.mode,
            include_str!("sql/job_heartbeat.sql"),
            fence,
            Extra::Seconds(lease.as_secs_f64()),
        )
        .await?;
        held.done().await?;
        Ok(super::Heartbeat {
            lease_expires_at: row.try_get("lease_expires_at")?,
            cancel_requested: row.try_get("cancel_requested")?,
        })
    }

    async fn job_raise_policy(
        &self,
        fence: Fence,
        at_most_once: bool,
        reconcilable: bool,
    ) -> Result<()> {
        self.fenced(
            include_str!("sql/job_raise_policy.sql"),
            fence,
            Extra::Flags(at_most_once, reconcilable),
        )
        .await
        .map(|_| ())
    }

    async fn job_complete(&self, fence: Fence) -> Result<()> {
        match self
            .fenced(include_str!("sql/job_complete.sql"), fence, Extra::None)
            .await
        {
            Ok(_) => Ok(()),
            Err(crate::Error::LeaseLost(lost))
                if lost.current_state == Some(JobState::Completed)
                    && lost.current_fence == Some(fence.fence) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn job_complete_many(&self, fences: &[Fence]) -> Result<Vec<Result<()>>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let completing = sqlx::query_scalar(include_str!("sql/job_complete_many.sql"))
            .bind(fences.iter().map(|f| f.job_id).collect::<Vec<i64>>())
            .bind(fences.iter().map(|f| f.fence).collect::<Vec<i64>>());
        // Straight to the server it runs on the completion's lane (see
        // `lane`); behind a transaction pooler each statement needs a
        // transaction of its own, which `On` gives.
        let done: Vec<i64> = if self.mode == Mode::Direct {
            let mut leased = self
                .lanes
                .complete
                .lease(&self.pool, self.hosts.as_ref())
                .await?;
            let done = completing.fetch_all(leased.conn()).await;
            leased.settle(done)?
        } else {
            completing.fetch_all(self.on()).await?
        };
        let done: std::collections::HashSet<i64> = done.into_iter().collect();
        // One query explains every completion that took no effect.
        let refused: Vec<i64> = fences
            .iter()
            .map(|f| f.job_id)
            .filter(|id| !done.contains(id))
            .collect();
        let mut current = std::collections::HashMap::new();
        if !refused.is_empty() {
            let rows = sqlx::query(include_str!("sql/job_fence_states.sql"))
                .bind(&refused)
                .fetch_all(self.on())
                .await?;
            for row in rows {
                let id: i64 = row.try_get("id")?;
                current.insert(id, (row.try_get("state")?, row.try_get("fence")?));
            }
        }
        Ok(fences
            .iter()
            .map(|f| decode::completion(*f, done.contains(&f.job_id), current.remove(&f.job_id)))
            .collect())
    }

    async fn job_retry(&self, params: &RetryParams) -> Result<JobState> {
        let value = self
            .fenced(
                include_str!("sql/job_retry.sql"),
                params.fence,
                Extra::TextSecondsFlag(&params.error, params.delay.as_secs_f64(), params.rerun),
            )
            .await?;
        returned_state(params.fence, value)
    }

    async fn job_discard(&self, fence: Fence, error: &str) -> Result<()> {
        self.fenced(
            include_str!("sql/job_discard.sql"),
            fence,
            Extra::Text(error),
        )
        .await
        .map(|_| ())
    }

    async fn job_snooze(&self, fence: Fence, delay: Duration) -> Result<()> {
        self.fenced(
            include_str!("sql/job_snooze.sql"),
            fence,
            Extra::Seconds(delay.as_secs_f64()),
        )
        .await
        .map(|_| ())
    }

    async fn job_cancel_running(&self, fence: Fence, reason: &str) -> Result<()> {
        self.fenced(
            include_str!("sql/job_cancel_running.sql"),
            fence,
            Extra::Text(reason),
        )
        .await
        .map(|_| ())
    }

    async fn job_unclaim_many(&self, fences: &[Fence]) -> Result<Vec<i64>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(include_str!("sql/job_unclaim_many.sql"))
            .bind(fences.iter().map(|f| f.job_id).collect::<Vec<i64>>())
            .bind(fences.iter().map(|f| f.fence).collect::<Vec<i64>>())
            .fetch_all(self.on())
            .await?)
    }

    async fn job_release(&self, fence: Fence, reason: &str) -> Result<JobState> {
        let value = self
            .fenced(
                include_str!("sql/job_release.sql"),
                fence,
                Extra::Text(reason),
            )
            .await?;
        returned_state(fence, value)
    }

    async fn job_rescue_expired(&self, limit: u32) -> Result<RescueReport> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(include_str!("sql/sweep_plan.sql"))
            .execute(In(&mut tx, self.mode))
            .await?;
        let states: Vec<String> = sqlx::query_scalar(include_str!("sql/job_rescue_expired.sql"))
            .bind(i64::from(limit))
            .fetch_all(In(&mut tx, self.mode))
            .await?;
        tx.commit().await?;
        let mut report = RescueReport::default();
        for raw in states {
            report.count(decode::state(0, &raw)?);
        }
        Ok(report)
    }

    async fn job_claim_in_doubt(
        &self,
        params: &ClaimParams,
        reconcile: &ReconcileClaim,
    ) -> Result<Vec<Job>> {
        self.claim_with(
            include_str!("sql/job_claim_in_doubt.sql"),
            params,
            Some(reconcile),
        )
        .await
        .map(|(jobs, _)| jobs)
    }

    async fn job_doubt(&self, fence: Fence, reason: &str, delay: Duration) -> Result<()> {
        self.fenced(
            include_str!("sql/job_doubt.sql"),
            fence,
            Extra::TextSeconds(reason, delay.as_secs_f64()),
        )
        .await
        .map(|_| ())
    }

    async fn job_resolve(
        &self,
        id: i64,
        resolution: super::Resolution,
        by: &Decision,
    ) -> Result<Job> {
        let note = resolution.note(by);
        operator::job_write(
            self,
            include_str!("sql/job_resolve.sql"),
            id,
            operator::JobWrite::Resolve(resolution.state().as_str(), &note),
            "resolve (only in-doubt jobs are resolved)",
            &format!("resolve:{}", resolution.as_str()),
            by,
        )
        .await
    }

    async fn step_list(&self, job_id: i64) -> Result<Vec<StepRecord>> {
        operator::steps(self, job_id).await
    }

    async fn step_get(&self, job_id: i64, name: &str) -> Result<Option<serde_json::Value>> {
        Ok(sqlx::query_scalar(include_str!("sql/step_get.sql"))
            .bind(job_id)
            .bind(name)
            .fetch_optional(self.on())
            .await?)
    }

    async fn step_put(&self, fence: Fence, name: &str, result: &serde_json::Value) -> Result<()> {
        let text = result.to_string();
        let mut held = Held::take(&self.pool, self.mode).await?;
        let conn = held.conn();
        let stored = sqlx::query(include_str!("sql/step_put.sql"))
            .bind(fence.job_id)
            .bind(fence.fence)
            .bind(name)
            .bind(text)
            .fetch_optional(In(conn, self.mode))
            .await?;
        if stored.is_some() {
            held.done().await?;
            return Ok(());
        }
        let current = sqlx::query(include_str!("sql/job_fence_state.sql"))
            .bind(fence.job_id)
            .fetch_optional(In(conn, self.mode))
            .await?
            .map(|r| -> Result<(String, i64, i64)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            })
            .transpose()?;
        match current {
            // Stored before (the same step again): still this attempt's.
            Some((state, f, epoch))
                if state == "running" && f == fence.fence && epoch == fence.fence >> 40 =>
            {
                Ok(())
            }
            other => Err(lease_lost(fence, other.map(|(state, f, _)| (state, f)))),
        }
    }

    async fn job_cancel(&self, id: i64, by: &Decision) -> Result<Job> {
        let sql = include_str!("sql/job_cancel.sql");
        let plain = operator::JobWrite::Plain;
        let job = operator::job_write(self, sql, id, plain, "cancel", "cancel", by).await?;
        if job.state == JobState::Running {
            // Tell its worker now rather than at its next heartbeat (best
            // effort: the heartbeat still finds the request).
            if let Err(error) = sqlx::query(include_str!("sql/job_cancel_notify.sql"))
                .bind(id.to_string())
                .execute(self.on())
                .await
            {
                tracing::warn!(job = id, %error, "cancel requested; its worker will see it at its next heartbeat");
            }
        }
        Ok(job)
    }

    async fn job_retry_now(&self, id: i64, by: &Decision) -> Result<Job> {
        let sql = include_str!("sql/job_retry_now.sql");
        let plain = operator::JobWrite::Plain;
        operator::job_write(self, sql, id, plain, "retry", "retry", by).await
    }

    async fn job_get(&self, id: i64) -> Result<Option<Job>> {
        sqlx::query(include_str!("sql/job_get.sql"))
            .bind(id)
            .fetch_optional(self.on())
            .await?
            .map(|row| rows::job(&row))
            .transpose()
    }

    async fn job_list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let rows = sqlx::query(include_str!("sql/job_list.sql"))
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.queue.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.before_id)
            .bind(filter.text.as_deref())
            .bind(i64::from(filter.limit.unwrap_or(100)))
            .fetch_all(self.on())
            .await?;
        rows::jobs(&rows)
    }

    async fn queue_counts(&self) -> Result<Vec<QueueCount>> {
        let rows = sqlx::query(include_str!("sql/queue_counts.sql"))
            .fetch_all(self.on())
            .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(QueueCount {
                    queue: row.try_get("queue")?,
                    state: decode::state(0, &state)?,
                    count: row.try_get("count")?,
                })
            })
            .collect()
    }

    async fn queue_pause(&self, queue: &str, by: &Decision) -> Result<QueueState> {
        operator::queue_write(self, queue, true, by).await
    }

    async fn queue_resume(&self, queue: &str, by: &Decision) -> Result<QueueState> {
        operator::queue_write(self, queue, false, by).await
    }

    async fn queue_states(&self) -> Result<Vec<QueueState>> {
        operator::queue_states(self).await
    }

    async fn job_throughput(&self, minutes: u32) -> Result<Vec<super::MinuteCount>> {
        operator::throughput(self, minutes).await
    }

    async fn worker_beat(&self, id: &str, queues: &str) -> Result<()> {
        workers::beat(self, id, queues).await
    }

    async fn worker_stopped(&self, id: &str) -> Result<()> {
        workers::stopped(self, id).await
    }

    async fn worker_list(&self, seen_within: Duration) -> Result<Vec<super::WorkerRecord>> {
        workers::list(self, seen_within).await
    }

    async fn operator_actions(&self, filter: &ActionFilter) -> Result<Vec<OperatorAction>> {
        operator::actions(self, filter).await
    }

    async fn schedule_upsert(&self, schedule: &crate::schedule::Schedule) -> Result<()> {
        periodic::upsert(self.on(), schedule).await
    }

    async fn schedule_remove(&self, name: &str) -> Result<bool> {
        periodic::remove(self.on(), name).await
    }

    async fn schedule_list(&self) -> Result<crate::schedule::ScheduleListing> {
        periodic::list(self.on()).await
    }

    async fn schedule_fire(&self, params: &super::FireParams<'_>) -> Result<Option<i64>> {
        periodic::fire(self.on(), params).await
    }

    async fn schedule_advance(
        &self,
        name: &str,
        last_period: DateTime<Utc>,
        next_period: Option<DateTime<Utc>>,
        term: &super::LeaderTerm,
    ) -> Result<()> {
        periodic::advance(self.on(), name, last_period, next_period, term).await
    }

    async fn leader_attempt_elect(
        &self,
        leader_id: &str,
        ttl: Duration,
    ) -> Result<Option<super::LeaderTerm>> {
        periodic::elect(self.on(), leader_id, ttl).await
    }

    async fn leader_resign(&self, term: &super::LeaderTerm) -> Result<bool> {
        periodic::resign(self.on(), term).await
    }

    async fn leader_get(&self) -> Result<Option<super::LeaderTerm>> {
        periodic::get_leader(self.on()).await
    }

    async fn job_prune(
        &self,
        params: &super::PruneParams,
        term: &super::LeaderTerm,
    ) -> Result<u64> {
        periodic::prune(self.on(), params, term).await
    }

    async fn firing_prune(
        &self,
        older_than: Duration,
        batch: u32,
        term: &super::LeaderTerm,
    ) -> Result<u64> {
        periodic::prune_firings(self.on(), older_than, batch, term).await
    }

    async fn ensure_primary(&self) -> Result<super::PrimaryCheck> {
        let Some(hosts) = &self.hosts else {
            return Ok(super::PrimaryCheck::SingleServer);
        };
        let check =
            sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(self.on());
        if let Ok(Ok(false)) = tokio::time::timeout(hosts::POOL_CHECK_TIMEOUT, check).await {
            return Ok(super::PrimaryCheck::Unchanged);
        }
        let index = hosts
            .find_primary()
            .await
            .map_err(|why| crate::Error::Connect {
                backend: "PostgreSQL",
                address: hosts
                    .candidates
                    .iter()
                    .map(hosts::address)
                    .collect::<Vec<_>>()
                    .join(","),
                cause: format!("no host accepts writes: {why}"),
            })?;
        if index == hosts.current() {
            return Ok(super::PrimaryCheck::Unchanged);
        }
        let options = hosts.candidates[index].clone();
        let address = hosts::address(&options);
        self.pool.set_connect_options(options);
        hosts.switch_to(index);
        Ok(super::PrimaryCheck::Switched(address))
    }

    async fn epoch_settle(&self) -> Result<Option<super::EpochSettled>> {
        let unsettled: bool = sqlx::query_scalar(include_str!("sql/epoch_unsettled.sql"))
            .fetch_one(self.on())
            .await?;
        if !unsettled {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(include_str!("sql/epoch_lock.sql"))
            .execute(In(&mut tx, self.mode))
            .await?;
        let still: bool = sqlx::query_scalar(include_str!("sql/epoch_unsettled.sql"))
            .fetch_one(In(&mut tx, self.mode))
            .await?;
        if !still {
            tx.rollback().await?;
            return Ok(None);
        }
        let epoch: i64 = sqlx::query_scalar(include_str!("sql/epoch_current.sql"))
            .fetch_one(In(&mut tx, self.mode))
            .await?;
        let held: i64 = sqlx::query_scalar(include_str!("sql/epoch_hold.sql"))
            .bind(epoch)
            .fetch_one(In(&mut tx, self.mode))
            .await?;
        sqlx::query(include_str!("sql/epoch_record.sql"))
            .bind(held)
            .fetch_optional(In(&mut tx, self.mode))
            .await?;
        tx.commit().await?;
        Ok(Some(super::EpochSettled {
            epoch,
            held: u64::try_from(held).unwrap_or(0),
        }))
    }

    async fn listen(&self) -> Result<Option<Box<dyn super::JobListener>>> {
        match (&self.listen, self.mode) {
            (Some(direct), _) => Ok(Some(Box::new(PgJobListener::connect_direct(direct).await?))),
            // A transaction pooler cannot keep a LISTEN: workers poll.
            (None, Mode::Transaction) => Ok(None),
            (None, Mode::Direct) => Ok(Some(Box::new(PgJobListener::connect(&self.pool).await?))),
        }
    }
}
