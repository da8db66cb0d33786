//! The SQLite driver: the embedded default, one database file shared by the
//! processes of one host.
//!
//! Invariants: the file runs in WAL mode with a busy timeout, so readers never
//! block and writers queue instead of failing; every write runs in a
//! `BEGIN IMMEDIATE` transaction, so two processes cannot both read a job as
//! claimable and then both claim it; fencing tokens come from one counter row
//! updated in the claiming transaction. Within one process, writers take a
//! FIFO gate before `BEGIN IMMEDIATE`, so they queue fairly instead of
//! spinning in SQLite's busy handler; across processes the busy timeout applies.
//! Durability: `synchronous=FULL` — a commit (claim, completion, insert) is on
//! disk before it returns, so a power loss cannot roll it back.

mod migrations;
mod operator;
mod periodic;
mod rows;
mod workers;
mod write_gate;

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::decode::{self, lease_lost, sqlite_modifier, sqlite_modifier_back, sqlite_timestamp};
use super::{
    ActionFilter, Backend, ClaimParams, Decision, Driver, Fence, InsertOutcome, JobFilter,
    MigrationReport, OperatorAction, QueueCount, QueueState, ReconcileClaim, RescueReport,
    RetryParams, StepRecord,
};
use crate::error::Result;
use crate::job::{Job, JobState, NewJob};

/// How long a writer waits for the file's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How SQLite makes commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL` (the default): a commit is on disk when it returns.
    #[default]
    Full,
    /// `synchronous=NORMAL` (opt-in, `?synchronous=normal`): faster writes;
    /// the last commits can be lost on a power loss or OS crash (not on a
    /// process crash). A lost claim or completion can make a job run again.
    Normal,
}

impl Durability {
    /// Reads `?synchronous=full|normal` from a `sqlite://` URL; other query
    /// parameters are refused.
    pub fn from_url(url: &str) -> Result<Self> {
        let Some((_, query)) = url.split_once('?') else {
            return Ok(Durability::Full);
        };
        let mut durability = Durability::Full;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            durability = match pair {
                "synchronous=full" => Durability::Full,
                "synchronous=normal" => Durability::Normal,
                other => {
                    return Err(crate::Error::BadUrl {
                        url: url.to_owned(),
                        reason: format!(
                            "unknown SQLite option {other:?}: only synchronous=full (default) or synchronous=normal"
                        ),
                    })
                }
            };
        }
        Ok(durability)
    }
}

/// The SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteDriver {
    pool: SqlitePool,
    /// One writer at a time from this process, shared by every handle on
    /// the same file (see `write_gate`).
    write_gate: write_gate::Gate,
}

impl SqliteDriver {
    /// Opens (creating if missing) the database file at `path`, durable.
    pub async fn open(path: &str) -> Result<Self> {
        Self::open_with(path, Durability::Full).await
    }

    /// Opens the file at `path` with the given durability.
    pub async fn open_with(path: &str, durability: Durability) -> Result<Self> {
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        };
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| crate::Error::Connect {
                backend: "SQLite",
                address: path.to_owned(),
                cause: e.to_string(),
            })?;
        Ok(SqliteDriver {
            pool,
            write_gate: write_gate::for_file(std::path::Path::new(path)),
        })
    }

    /// The connection pool, for applications that keep their own tables in
    /// the same file (and use [`insert_tx`] / [`complete_tx`]).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins an immediate (write) transaction behind the process's write gate.
    pub(super) async fn begin_write(&self) -> Result<WriteTx<'_>> {
        let gate = self.write_gate.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// Runs one fenced statement (`?1` id, `?2` fence, then `extra` binds) in
    /// an immediate transaction. Returns the first column of the returned row,
    /// or `LeaseLost` when the fence did not match.
    async fn fenced(&self, sql: &'static str, fence: Fence, extra: &[String]) -> Result<String> {
        let mut w = self.begin_write().await?;
        let row = fenced_on(&mut w.tx, sql, fence, extra).await?;
        w.tx.commit().await?;
        Ok(row)
    }
}

/// A write transaction and the gate it holds until it ends.
pub(super) struct WriteTx<'a> {
    pub(super) tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _gate: tokio::sync::MutexGuard<'a, ()>,
}

/// A fenced statement on a connection the caller controls.
async fn fenced_on(
    conn: &mut SqliteConnection,
    sql: &'static str,
    fence: Fence,
    extra: &[String],
) -> Result<String> {
    let row = fenced_row(conn, sql, fence, extra).await?;
    rows::first_column_text(&row)
}

/// A fenced statement's returned row, or `LeaseLost` explained by the job's
/// current state and token.
async fn fenced_row(
    conn: &mut SqliteConnection,
    sql: &'static str,
    fence: Fence,
    extra: &[String],
) -> Result<sqlx::sqlite::SqliteRow> {
    let mut query = sqlx::query(sql).bind(fence.job_id).bind(fence.fence);
    for value in extra {
        query = query.bind(value.as_str());
    }
    match query.fetch_optional(&mut *conn).await? {
        Some(row) => Ok(row),
        None => {
            let current = sqlx::query(include_str!("sql/job_fence_state.sql"))
                .bind(fence.job_id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| -> Result<(String, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?;
            Err(lease_lost(fence, current))
        }
    }
}

/// Why an operator's write on job `id` took no effect: it does not exist, or
/// its state does not allow `action`.
async fn refusal(
    conn: &mut SqliteConnection,
    id: i64,
    action: &'static str,
) -> Result<crate::Error> {
    let row = sqlx::query(include_str!("sql/job_get.sql"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        None => crate::Error::NotFound(id),
        Some(row) => crate::Error::InvalidTransition {
            id,
            state: rows::job(&row)?.state,
            action,
        },
    })
}

/// Inserts a job inside the caller's transaction: it exists only if that
/// transaction commits. Begin it with `BEGIN IMMEDIATE` to avoid lock upgrades.
pub async fn insert_tx(conn: &mut SqliteConnection, job: &NewJob) -> Result<InsertOutcome> {
    let args = job.validate()?;
    let inserted = sqlx::query(include_str!("sql/job_insert.sql"))
        .bind(&job.queue)
        .bind(&job.kind)
        .bind(args)
        .bind(job.priority)
        .bind(job.run_at.map(sqlite_timestamp))
        .bind(job.max_attempts)
        .bind(&job.unique_key)
        .bind(job.idempotency_key_or_random())
        .bind(job.stored_at_most_once())
        .bind(job.timeout_ms())
        .bind(job.reconcilable)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = inserted {
        return Ok(InsertOutcome {
            job: rows::job(&row)?,
            inserted: true,
        });
    }
    let key = job.unique_key.as_deref().unwrap_or_default();
    let existing = sqlx::query(include_str!("sql/job_get_by_unique_key.sql"))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    match existing {
        Some(row) => Ok(InsertOutcome {
            job: rows::job(&row)?,
            inserted: false,
        }),
        None => Err(decode::corrupt(
            None,
            format!("insert of unique key {key:?} conflicted but no holder was found"),
        )),
    }
}

/// Completes the attempt inside the caller's transaction, so the
/// application's own writes and the completion commit together or not at all.
pub async fn complete_tx(conn: &mut SqliteConnection, fence: Fence) -> Result<()> {
    fenced_on(conn, include_str!("sql/job_complete.sql"), fence, &[])
        .await
        .map(|_| ())
}

#[async_trait]
impl Driver for SqliteDriver {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<MigrationReport> {
        migrations::apply(&self.pool).await
    }

    async fn check_schema(&self) -> Result<()> {
        migrations::check(&self.pool).await
    }

    async fn db_now(&self) -> Result<DateTime<Utc>> {
        let raw: String = sqlx::query_scalar(include_str!("sql/db_now.sql"))
            .fetch_one(&self.pool)
            .await?;
        decode::timestamp(0, "now", &raw)
    }

    async fn job_insert(&self, job: &NewJob) -> Result<InsertOutcome> {
        job.validate()?;
        let mut w = self.begin_write().await?;
        let outcome = insert_tx(&mut w.tx, job).await?;
        w.tx.commit().await?;
        Ok(outcome)
    }

    async fn job_insert_many(&self, jobs: &[NewJob]) -> Result<u64> {
        for job in jobs {
            job.validate()?;
        }
        let mut w = self.begin_write().await?;
        let mut inserted = 0;
        for job in jobs {
            if insert_tx(&mut w.tx, job).await?.inserted {
                inserted += 1;
            }
        }
        w.tx.commit().await?;
        Ok(inserted)
    }

    async fn job_claim(&self, params: &ClaimParams) -> Result<Vec<Job>> {
        Ok(self.job_claim_sent(params).await?.0)
    }

    async fn job_claim_sent(&self, params: &ClaimParams) -> Result<(Vec<Job>, Instant)> {
        self.claim_with(include_str!("sql/job_claim.sql"), params, None)
            .await
    }

    async fn job_heartbeat(&self, fence: Fence, lease: Duration) -> Result<super::Heartbeat> {
        let mut w = self.begin_write().await?;
        let row = fenced_row(
            &mut w.tx,
            include_str!("sql/job_heartbeat.sql"),
            fence,
            &[sqlite_modifier(lease)],
        )
        .await?;
        w.tx.commit().await?;
        let raw: String = row.try_get("lease_expires_at")?;
        Ok(super::Heartbeat {
            lease_expires_at: decode::timestamp(fence.job_id, "lease_expires_at", &raw)?,
            cancel_requested: row.try_get("cancel_requested")?,
        })
    }

    async fn job_raise_policy(
        &self,
        fence: Fence,
        at_most_once: bool,
        reconcilable: bool,
    ) -> Result<()> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        self.fenced(
            include_str!("sql/job_raise_policy.sql"),
            fence,
            &[flag(at_most_once), flag(reconcilable)],
        )
        .await
        .map(|_| ())
    }

    async fn job_complete(&self, fence: Fence) -> Result<()> {
        match self
            .fenced(include_str!("sql/job_complete.sql"), fence, &[])
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

    /// One write transaction (one turn of the write lock) for the whole batch.
    async fn job_complete_many(&self, fences: &[Fence]) -> Result<Vec<Result<()>>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<[i64; 2]> = fences.iter().map(|f| [f.job_id, f.fence]).collect();
        let pairs = serde_json::to_string(&pairs).map_err(|e| {
            crate::Error::Invalid(crate::error::ValidationError::Args(e.to_string()))
        })?;
        let mut w = self.begin_write().await?;
        let done: Vec<i64> = sqlx::query_scalar(include_str!("sql/job_complete_many.sql"))
            .bind(&pairs)
            .fetch_all(&mut *w.tx)
            .await?;
        let done: std::collections::HashSet<i64> = done.into_iter().collect();
        let mut outcomes = Vec::with_capacity(fences.len());
        for &fence in fences {
            let took = done.contains(&fence.job_id);
            // Explains a completion that took no effect (rare: one read each).
            let current = if took {
                None
            } else {
                sqlx::query(include_str!("sql/job_fence_state.sql"))
                    .bind(fence.job_id)
                    .fetch_optional(&mut *w.tx)
                    .await?
                    .map(|row| -> Result<(String, i64)> {
                        Ok((row.try_get("state")?, row.try_get("fence")?))
                    })
                    .transpose()?
            };
            outcomes.push(decode::completion(fence, took, current));
        }
        w.tx.commit().await?;
        Ok(outcomes)
    }

    async fn job_unclaim_many(&self, fences: &[Fence]) -> Result<Vec<i64>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut w = self.begin_write().await?;
        let mut handed_back = Vec::with_capacity(fences.len());
        for &fence in fences {
            let took: Option<i64> = sqlx::query_scalar(include_str!("sql/job_unclaim.sql"))
                .bind(fence.job_id)
                .bind(fence.fence)
                .fetch_optional(&mut *w.tx)
                .await?;
            handed_back.extend(took);
        }
        w.tx.commit().await?;
        Ok(handed_back)
    }

    async fn job_retry(&self, params: &RetryParams) -> Result<JobState> {
        let raw = self
            .fenced(
                include_str!("sql/job_retry.sql"),
                params.fence,
                &[
                    params.error.clone(),
                    sqlite_modifier(params.delay),
                    if params.rerun { "1" } else { "0" }.to_owned(),
                ],
            )
            .await?;
        decode::state(params.fence.job_id, &raw)
    }

    async fn job_discard(&self, fence: Fence, error: &str) -> Result<()> {
        self.fenced(include_str!("sql/job_discard.sql"), fence, &[error.into()])
            .await
            .map(|_| ())
    }

    async fn job_snooze(&self, fence: Fence, delay: Duration) -> Result<()> {
        self.fenced(
            include_str!("sql/job_snooze.sql"),
            fence,
            &[sqlite_modifier(delay)],
        )
        .await
        .map(|_| ())
    }

    async fn job_cancel_running(&self, fence: Fence, reason: &str) -> Result<()> {
        self.fenced(
            include_str!("sql/job_cancel_running.sql"),
            fence,
            &[reason.into()],
        )
        .await
        .map(|_| ())
    }

    async fn job_release(&self, fence: Fence, reason: &str) -> Result<JobState> {
        let raw = self
            .fenced(include_str!("sql/job_release.sql"), fence, &[reason.into()])
            .await?;
        decode::state(fence.job_id, &raw)
    }

    async fn job_rescue_expired(&self, limit: u32) -> Result<RescueReport> {
        let mut w = self.begin_write().await?;
        let states: Vec<String> = sqlx::query_scalar(include_str!("sql/job_rescue_expired.sql"))
            .bind(i64::from(limit))
            .fetch_all(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
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
            &[reason.into(), sqlite_modifier(delay)],
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
        let raw: Option<String> = sqlx::query_scalar(include_str!("sql/step_get.sql"))
            .bind(job_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        raw.map(|r| decode::json(job_id, "oncely_job_steps.result", &r))
            .transpose()
    }

    async fn step_put(&self, fence: Fence, name: &str, result: &serde_json::Value) -> Result<()> {
        let text = result.to_string();
        let mut w = self.begin_write().await?;
        let stored = sqlx::query(include_str!("sql/step_put.sql"))
            .bind(fence.job_id)
            .bind(fence.fence)
            .bind(name)
            .bind(text)
            .fetch_optional(&mut *w.tx)
            .await?;
        let current = if stored.is_some() {
            None
        } else {
            sqlx::query(include_str!("sql/job_fence_state.sql"))
                .bind(fence.job_id)
                .fetch_optional(&mut *w.tx)
                .await?
                .map(|r| -> Result<(String, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?
        };
        w.tx.commit().await?;
        if stored.is_some() {
            return Ok(());
        }
        match &current {
            Some((state, f)) if state == "running" && *f == fence.fence => Ok(()),
            _ => Err(lease_lost(fence, current)),
        }
    }

    async fn job_cancel(&self, id: i64, by: &Decision) -> Result<Job> {
        let sql = include_str!("sql/job_cancel.sql");
        let plain = operator::JobWrite::Plain;
        operator::job_write(self, sql, id, plain, "cancel", "cancel", by).await
    }

    async fn job_retry_now(&self, id: i64, by: &Decision) -> Result<Job> {
        let sql = include_str!("sql/job_retry_now.sql");
        let plain = operator::JobWrite::Plain;
        operator::job_write(self, sql, id, plain, "retry", "retry", by).await
    }

    async fn job_get(&self, id: i64) -> Result<Option<Job>> {
        sqlx::query(include_str!("sql/job_get.sql"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| rows::job(&row))
            .transpose()
    }

    async fn job_list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        sqlx::query(include_str!("sql/job_list.sql"))
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.queue.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.before_id)
            .bind(filter.text.as_deref())
            .bind(i64::from(filter.limit.unwrap_or(100)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn schedule_upsert(&self, schedule: &crate::schedule::Schedule) -> Result<()> {
        self.schedule_upsert_impl(schedule).await
    }

    async fn schedule_remove(&self, name: &str) -> Result<bool> {
        self.schedule_remove_impl(name).await
    }

    async fn schedule_list(&self) -> Result<crate::schedule::ScheduleListing> {
        self.schedule_list_impl().await
    }

    async fn schedule_fire(&self, params: &super::FireParams<'_>) -> Result<Option<i64>> {
        self.schedule_fire_impl(params).await
    }

    async fn schedule_advance(
        &self,
        name: &str,
        last_period: DateTime<Utc>,
        next_period: Option<DateTime<Utc>>,
        term: &super::LeaderTerm,
    ) -> Result<()> {
        self.schedule_advance_impl(name, last_period, next_period, term)
            .await
    }

    async fn leader_attempt_elect(
        &self,
        leader_id: &str,
        ttl: Duration,
    ) -> Result<Option<super::LeaderTerm>> {
        self.leader_elect_impl(leader_id, ttl).await
    }

    async fn leader_resign(&self, term: &super::LeaderTerm) -> Result<bool> {
        self.leader_resign_impl(term).await
    }

    async fn leader_get(&self) -> Result<Option<super::LeaderTerm>> {
        self.leader_get_impl().await
    }

    async fn job_prune(
        &self,
        params: &super::PruneParams,
        term: &super::LeaderTerm,
    ) -> Result<u64> {
        self.job_prune_impl(params, term).await
    }

    async fn firing_prune(
        &self,
        older_than: Duration,
        batch: u32,
        term: &super::LeaderTerm,
    ) -> Result<u64> {
        self.firing_prune_impl(older_than, batch, term).await
    }

    async fn queue_counts(&self) -> Result<Vec<QueueCount>> {
        let rows = sqlx::query(include_str!("sql/queue_counts.sql"))
            .fetch_all(&self.pool)
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
}

impl SqliteDriver {
    /// Runs a claim statement (normal, or in-doubt with `reconcile`) in one
    /// immediate transaction, with fencing tokens reserved from the counter —
    /// unless a read-only probe finds nothing to claim.
    async fn claim_with(
        &self,
        sql: &'static str,
        params: &ClaimParams,
        reconcile: Option<&ReconcileClaim>,
    ) -> Result<(Vec<Job>, Instant)> {
        if params.limit == 0 || params.kinds.is_empty() {
            return Ok((Vec::new(), Instant::now()));
        }
        let json = |kinds: &[String]| {
            serde_json::to_string(kinds).map_err(|e| {
                crate::Error::Invalid(crate::error::ValidationError::Args(e.to_string()))
            })
        };
        let kinds = json(&params.kinds)?;
        let every_job_kinds = reconcile.map(|r| json(&r.every_job_kinds)).transpose()?;
        // A cheap read first: an idle poll takes no write lock and writes nothing.
        let probe = match (&every_job_kinds, reconcile) {
            (Some(every), Some(r)) => sqlx::query(include_str!("sql/job_claim_in_doubt_probe.sql"))
                .bind(&params.queue)
                .bind(&kinds)
                .bind(every)
                .bind(sqlite_modifier_back(r.settle)),
            _ => sqlx::query(include_str!("sql/job_claim_probe.sql"))
                .bind(&params.queue)
                .bind(&kinds),
        };
        if probe.fetch_optional(&self.pool).await?.is_none() {
            return Ok((Vec::new(), Instant::now()));
        }
        let mut w = self.begin_write().await?;
        // The leases count from the database's clock in this transaction:
        // waiting for the write lock does not eat into them.
        let sent = Instant::now();
        let last: i64 = sqlx::query_scalar(include_str!("sql/fence_reserve.sql"))
            .bind(i64::from(params.limit))
            .fetch_one(&mut *w.tx)
            .await?;
        let base = last - i64::from(params.limit);
        let mut query = sqlx::query(sql)
            .bind(&params.queue)
            .bind(kinds)
            .bind(i64::from(params.limit))
            .bind(base)
            .bind(sqlite_modifier(params.lease))
            .bind(&params.worker_id);
        if let (Some(kinds), Some(reconcile)) = (every_job_kinds, reconcile) {
            query = query
                .bind(kinds)
                .bind(sqlite_modifier_back(reconcile.settle));
        }
        let rows = query.fetch_all(&mut *w.tx).await?;
        let (jobs, unreadable) = decode::split_claimed(&rows, rows::job, rows::fence)?;
        for (fence, reason) in unreadable {
            tracing::error!(job = fence.job_id, %reason, "quarantining a claimed job");
            sqlx::query(include_str!("sql/job_quarantine.sql"))
                .bind(fence.job_id)
                .bind(fence.fence)
                .bind(&reason)
                .fetch_optional(&mut *w.tx)
                .await?;
        }
        w.tx.commit().await?;
        Ok((jobs, sent))
    }
}
