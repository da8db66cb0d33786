//! The MariaDB driver: jobs, claims, fenced writes, steps.
//!
//! Invariants: every oncely connection runs in UTC, strict mode and READ
//! COMMITTED (`sql/session.sql`); all times come from the server's
//! `UTC_TIMESTAMP(6)`. A claim locks the rows it picks (`FOR UPDATE SKIP
//! LOCKED`), reserves their fencing tokens from the counter row and marks
//! them in one transaction, so no two claims get one job and tokens only grow.
//! Every fenced write is one `UPDATE … WHERE id = ? AND fence = ? AND state =
//! 'running'` whose matched-row count is checked (the connection reports
//! found rows, not changed ones); a miss reads the row's state and token to
//! explain the `LeaseLost`. MariaDB has no `UPDATE … RETURNING`: what a write
//! returns is read back in the same transaction, under the row lock the
//! write took. No LISTEN/NOTIFY: workers poll.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{MySqlConnection, MySqlPool, Row};

use super::rows;
use crate::error::{Error, Result};
use crate::job::{Job, JobState, NewJob};
use crate::store::decode::{self, lease_lost};
use crate::store::{
    ActionFilter, Backend, ClaimParams, Decision, Driver, Fence, InsertOutcome, JobFilter,
    MigrationReport, OperatorAction, QueueCount, QueueState, ReconcileClaim, RescueReport,
    RetryParams, StepRecord,
};

/// MariaDB's error number for a duplicate key.
const DUPLICATE_KEY: u16 = 1062;

/// MariaDB's error number for a transaction rolled back as a deadlock victim.
const DEADLOCK: u16 = 1213;

/// How many times a deadlock victim is run again.
const DEADLOCK_RETRIES: u32 = 4;

/// The MariaDB backend.
#[derive(Debug, Clone)]
pub struct MariaDbDriver {
    pub(super) pool: MySqlPool,
}

/// One bound value of a fenced statement, before its id and token.
pub(super) enum Bind<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
}

/// A duration in whole microseconds, for `INTERVAL ? MICROSECOND`.
pub(super) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A JSON array of ids (claim order kept), for `JSON_TABLE`.
fn id_array(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

impl MariaDbDriver {
    /// Connects a pool to `url` (`mysql://` or `mariadb://`) with 10 connections.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = super::connect_options(url)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(include_str!("sql/session.sql"))
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| super::connect_error(url, e))?;
        // Tested on MariaDB only: say so when the server is something else.
        let version: String = sqlx::query_scalar(include_str!("sql/server_version.sql"))
            .fetch_one(&pool)
            .await?;
        if !version.contains("MariaDB") {
            tracing::warn!(%version, "oncely's MariaDB driver is tested on MariaDB 10.6+ only; this server is not MariaDB");
        }
        Ok(MariaDbDriver { pool })
    }

    /// The connection pool, for applications that keep their own tables in
    /// the same database (and use [`insert_tx`]).
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Runs one fenced statement (`extra` binds, then id and token) in its own
    /// transaction; `LeaseLost` when it matched no row.
    async fn fenced(&self, sql: &'static str, fence: Fence, extra: &[Bind<'_>]) -> Result<()> {
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            fenced_on(&mut tx, sql, fence, extra).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// A fenced statement, then the job's state as it left it.
    async fn fenced_state(
        &self,
        sql: &'static str,
        fence: Fence,
        extra: &[Bind<'_>],
    ) -> Result<JobState> {
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            fenced_on(&mut tx, sql, fence, extra).await?;
            let raw: String = sqlx::query_scalar(include_str!("sql/job_state.sql"))
                .bind(fence.job_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            decode::state(fence.job_id, &raw)
        })
        .await
    }
}

/// A fenced statement on a connection the caller controls.
pub(super) async fn fenced_on(
    conn: &mut MySqlConnection,
    sql: &'static str,
    fence: Fence,
    extra: &[Bind<'_>],
) -> Result<()> {
    let mut query = sqlx::query(sql);
    for value in extra {
        query = match value {
            Bind::Text(text) => query.bind(*text),
            Bind::Int(n) => query.bind(*n),
            Bind::Bool(b) => query.bind(*b),
        };
    }
    let done = query
        .bind(fence.job_id)
        .bind(fence.fence)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    Err(lease_lost(fence, fence_state(conn, fence.job_id).await?))
}

/// The state and token of job `id`, if it exists.
pub(super) async fn fence_state(
    conn: &mut MySqlConnection,
    id: i64,
) -> Result<Option<(String, i64)>> {
    sqlx::query(include_str!("sql/job_fence_state.sql"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| rows::state_and_fence(&row))
        .transpose()
}

/// Whether a failed statement was InnoDB choosing it as a deadlock victim
/// (its transaction was rolled back whole: safe to run again).
fn is_deadlock(error: &Error) -> bool {
    match error {
        Error::Database(sqlx::Error::Database(e)) => e
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|m| m.number() == DEADLOCK),
        _ => false,
    }
}

/// Runs a whole transaction again when InnoDB picked it as a deadlock victim
/// (claims, prunes and rescues lock ranges and can cross), a few times with
/// a short random pause; any other outcome is returned as it is.
pub(super) async fn retrying_deadlocks<T, F, Fut>(mut run: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match run().await {
            Err(e) if is_deadlock(&e) && tries < DEADLOCK_RETRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(fastrand::u64(1..20))).await;
            }
            other => return other,
        }
    }
}

/// Inserts one validated job; `None` when a job that is not final holds its
/// unique key.
async fn insert_row(conn: &mut MySqlConnection, job: &NewJob, args: &str) -> Result<Option<i64>> {
    let run_at = job.run_at.map(|t| t.naive_utc());
    let inserted = sqlx::query(include_str!("sql/job_insert.sql"))
        .bind(&job.queue)
        .bind(&job.kind)
        .bind(args)
        .bind(run_at)
        .bind(run_at)
        .bind(job.priority)
        .bind(run_at)
        .bind(job.max_attempts)
        .bind(&job.unique_key)
        .bind(job.idempotency_key_or_random())
        .bind(job.stored_at_most_once())
        .bind(job.timeout_ms())
        .bind(job.reconcilable)
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(done) => Ok(Some(
            i64::try_from(done.last_insert_id())
                .map_err(|_| decode::corrupt(None, "insert id out of range"))?,
        )),
        Err(sqlx::Error::Database(e))
            if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|m| m.number() == DUPLICATE_KEY) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Most bytes of job args sent in one bulk statement (the server's packet
/// limit is 16 MiB by default; one job's args are at most 1 MiB).
const BULK_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// One validated job without a unique key, as a row of `job_insert_many.sql`.
fn bulk_row(job: &NewJob, args: &str) -> serde_json::Value {
    let mut row = serde_json::json!({
        "queue": job.queue,
        "kind": job.kind,
        "args": args,
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "idempotency_key": job.idempotency_key_or_random(),
        "at_most_once": job.stored_at_most_once(),
        "reconcilable": job.reconcilable,
    });
    if let Some(run_at) = job.run_at {
        row["run_at"] = run_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into();
    }
    if let Some(timeout) = job.timeout_ms() {
        row["timeout_ms"] = timeout.into();
    }
    row
}

/// Inserts one chunk of keyless jobs; how many rows went in.
async fn insert_chunk(conn: &mut MySqlConnection, rows: &[serde_json::Value]) -> Result<u64> {
    let done = sqlx::query(include_str!("sql/job_insert_many.sql"))
        .bind(serde_json::Value::from(rows.to_vec()).to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The non-final holder of `key`, read with a lock (the latest committed row).
async fn unique_key_holder(conn: &mut MySqlConnection, key: &str) -> Result<Option<Job>> {
    sqlx::query(include_str!("sql/job_get_by_unique_key.sql"))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| rows::job(&row))
        .transpose()
}

/// Inserts a job inside the caller's transaction: it exists only if that
/// transaction commits. A duplicate unique key returns the holder.
pub async fn insert_tx(conn: &mut MySqlConnection, job: &NewJob) -> Result<InsertOutcome> {
    let args = job.validate()?;
    let key = job.unique_key.as_deref().unwrap_or_default();
    // The insert is tried again when the key's holder finished in between.
    for _ in 0..3 {
        if let Some(id) = insert_row(conn, job, &args).await? {
            let row = sqlx::query(include_str!("sql/job_get.sql"))
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
            return Ok(InsertOutcome {
                job: rows::job(&row)?,
                inserted: true,
            });
        }
        if let Some(holder) = unique_key_holder(conn, key).await? {
            return Ok(InsertOutcome {
                job: holder,
                inserted: false,
            });
        }
    }
    Err(decode::corrupt(
        None,
        format!("insert of unique key {key:?} kept conflicting with holders that finished"),
    ))
}

/// Completes the attempt inside the caller's transaction, so the
/// application's own writes and the completion commit together or not at all.
pub async fn complete_tx(conn: &mut MySqlConnection, fence: Fence) -> Result<()> {
    fenced_on(conn, include_str!("sql/job_complete.sql"), fence, &[]).await
}

#[async_trait]
impl Driver for MariaDbDriver {
    fn backend(&self) -> Backend {
        Backend::MariaDb
    }

    async fn migrate(&self) -> Result<MigrationReport> {
        let mut conn = self.pool.acquire().await?;
        super::migrations::apply(&mut conn).await
    }

    async fn check_schema(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        super::migrations::check(&mut conn).await
    }

    async fn db_now(&self) -> Result<DateTime<Utc>> {
        let now: chrono::NaiveDateTime = sqlx::query_scalar(include_str!("sql/db_now.sql"))
            .fetch_one(&self.pool)
            .await?;
        Ok(now.and_utc())
    }

    async fn job_insert(&self, job: &NewJob) -> Result<InsertOutcome> {
        job.validate()?;
        let mut tx = self.pool.begin().await?;
        let outcome = insert_tx(&mut tx, job).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn job_insert_many(&self, jobs: &[NewJob]) -> Result<u64> {
        let args: Vec<String> = jobs
            .iter()
            .map(NewJob::validate)
            .collect::<Result<_, _>>()?;
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        // Jobs without a unique key cannot conflict: one statement per chunk.
        let mut chunk: Vec<serde_json::Value> = Vec::new();
        let mut chunk_bytes = 0;
        for (job, args) in jobs
            .iter()
            .zip(&args)
            .filter(|(j, _)| j.unique_key.is_none())
        {
            chunk_bytes += args.len() + 256;
            chunk.push(bulk_row(job, args));
            if chunk_bytes >= BULK_CHUNK_BYTES {
                inserted += insert_chunk(&mut tx, &chunk).await?;
                chunk.clear();
                chunk_bytes = 0;
            }
        }
        if !chunk.is_empty() {
            inserted += insert_chunk(&mut tx, &chunk).await?;
        }
        // Keyed jobs one by one without read-back, and one more round trip
        // only for a key already held (to tell a holder from one that ended).
        for (job, args) in jobs
            .iter()
            .zip(&args)
            .filter(|(j, _)| j.unique_key.is_some())
        {
            for _ in 0..3 {
                if insert_row(&mut tx, job, args).await?.is_some() {
                    inserted += 1;
                    break;
                }
                let key = job.unique_key.as_deref().unwrap_or_default();
                if unique_key_holder(&mut tx, key).await?.is_some() {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn job_claim(&self, params: &ClaimParams) -> Result<Vec<Job>> {
        Ok(self.job_claim_sent(params).await?.0)
    }

    async fn job_claim_sent(&self, params: &ClaimParams) -> Result<(Vec<Job>, Instant)> {
        retrying_deadlocks(|| self.claim(params, None)).await
    }

    async fn job_heartbeat(
        &self,
        fence: Fence,
        lease: Duration,
    ) -> Result<crate::store::Heartbeat> {
        let mut tx = self.pool.begin().await?;
        fenced_on(
            &mut tx,
            include_str!("sql/job_heartbeat.sql"),
            fence,
            &[Bind::Int(micros(lease))],
        )
        .await?;
        let row = sqlx::query(include_str!("sql/job_heartbeat_read.sql"))
            .bind(fence.job_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(crate::store::Heartbeat {
            lease_expires_at: rows::time(&row, "lease_expires_at")?,
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
            &[
                Bind::Bool(at_most_once),
                Bind::Bool(reconcilable),
                Bind::Bool(reconcilable),
            ],
        )
        .await
    }

    async fn job_complete(&self, fence: Fence) -> Result<()> {
        match self
            .fenced(include_str!("sql/job_complete.sql"), fence, &[])
            .await
        {
            Err(Error::LeaseLost(lost))
                if lost.current_state == Some(JobState::Completed)
                    && lost.current_fence == Some(fence.fence) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn job_complete_many(&self, fences: &[Fence]) -> Result<Vec<Result<()>>> {
        retrying_deadlocks(|| self.complete_batch(fences)).await
    }

    async fn job_unclaim_many(&self, fences: &[Fence]) -> Result<Vec<i64>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut handed_back = Vec::with_capacity(fences.len());
        for &fence in fences {
            let done = sqlx::query(include_str!("sql/job_unclaim.sql"))
                .bind(fence.job_id)
                .bind(fence.fence)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                handed_back.push(fence.job_id);
            }
        }
        tx.commit().await?;
        Ok(handed_back)
    }

    async fn job_retry(&self, params: &RetryParams) -> Result<JobState> {
        let rerun = Bind::Bool(params.rerun);
        self.fenced_state(
            include_str!("sql/job_retry.sql"),
            params.fence,
            &[
                Bind::Text(&params.error),
                Bind::Bool(params.rerun),
                Bind::Bool(params.rerun),
                Bind::Bool(params.rerun),
                rerun,
                Bind::Int(micros(params.delay)),
            ],
        )
        .await
    }

    async fn job_discard(&self, fence: Fence, error: &str) -> Result<()> {
        self.fenced(
            include_str!("sql/job_discard.sql"),
            fence,
            &[Bind::Text(error)],
        )
        .await
    }

    async fn job_snooze(&self, fence: Fence, delay: Duration) -> Result<()> {
        self.fenced(
            include_str!("sql/job_snooze.sql"),
            fence,
            &[Bind::Int(micros(delay))],
        )
        .await
    }

    async fn job_cancel_running(&self, fence: Fence, reason: &str) -> Result<()> {
        self.fenced(
            include_str!("sql/job_cancel_running.sql"),
            fence,
            &[Bind::Text(reason)],
        )
        .await
    }

    async fn job_release(&self, fence: Fence, reason: &str) -> Result<JobState> {
        self.fenced_state(
            include_str!("sql/job_release.sql"),
            fence,
            &[Bind::Text(reason)],
        )
        .await
    }

    async fn job_rescue_expired(&self, limit: u32) -> Result<RescueReport> {
        retrying_deadlocks(|| self.rescue(limit)).await
    }
    async fn job_claim_in_doubt(
        &self,
        params: &ClaimParams,
        reconcile: &ReconcileClaim,
    ) -> Result<Vec<Job>> {
        retrying_deadlocks(|| self.claim(params, Some(reconcile)))
            .await
            .map(|(jobs, _)| jobs)
    }

    async fn job_doubt(&self, fence: Fence, reason: &str, delay: Duration) -> Result<()> {
        self.fenced(
            include_str!("sql/job_doubt.sql"),
            fence,
            &[Bind::Text(reason), Bind::Int(micros(delay))],
        )
        .await
    }

    async fn job_resolve(
        &self,
        id: i64,
        resolution: crate::store::Resolution,
        by: &Decision,
    ) -> Result<Job> {
        let note = resolution.note(by);
        let state = resolution.state().as_str();
        super::operator::job_write(
            self,
            include_str!("sql/job_resolve.sql"),
            id,
            &[state, state, state, &note],
            "resolve (only in-doubt jobs are resolved)",
            &format!("resolve:{}", resolution.as_str()),
            by,
        )
        .await
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

    async fn step_list(&self, job_id: i64) -> Result<Vec<StepRecord>> {
        super::operator::steps(self, job_id).await
    }

    async fn step_put(&self, fence: Fence, name: &str, result: &serde_json::Value) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let stored = sqlx::query(include_str!("sql/step_put.sql"))
            .bind(fence.job_id)
            .bind(name)
            .bind(result.to_string())
            .bind(fence.fence)
            .bind(fence.job_id)
            .bind(fence.fence)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let current = fence_state(&mut tx, fence.job_id).await?;
        tx.commit().await?;
        // Not stored: recorded before under this lease (first write wins), or
        // the lease is gone.
        match &current {
            _ if stored => Ok(()),
            Some((state, f)) if state == "running" && *f == fence.fence => Ok(()),
            _ => Err(lease_lost(fence, current)),
        }
    }

    async fn job_cancel(&self, id: i64, by: &Decision) -> Result<Job> {
        super::operator::job_write(
            self,
            include_str!("sql/job_cancel.sql"),
            id,
            &[],
            "cancel",
            "cancel",
            by,
        )
        .await
    }

    async fn job_retry_now(&self, id: i64, by: &Decision) -> Result<Job> {
        super::operator::job_write(
            self,
            include_str!("sql/job_retry_now.sql"),
            id,
            &[],
            "retry",
            "retry",
            by,
        )
        .await
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
        let state = filter.state.map(JobState::as_str);
        let text = filter.text.as_deref();
        sqlx::query(include_str!("sql/job_list.sql"))
            .bind(filter.before_id)
            .bind(state)
            .bind(state)
            .bind(filter.queue.as_deref())
            .bind(filter.queue.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.kind.as_deref())
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(i64::from(filter.limit.unwrap_or(100)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn queue_counts(&self) -> Result<Vec<QueueCount>> {
        sqlx::query(include_str!("sql/queue_counts.sql"))
            .fetch_all(&self.pool)
            .await?
            .iter()
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
        super::operator::queue_write(self, queue, true, by).await
    }

    async fn queue_resume(&self, queue: &str, by: &Decision) -> Result<QueueState> {
        super::operator::queue_write(self, queue, false, by).await
    }

    async fn queue_states(&self) -> Result<Vec<QueueState>> {
        super::operator::queue_states(self).await
    }

    async fn job_throughput(&self, minutes: u32) -> Result<Vec<crate::store::MinuteCount>> {
        super::operator::throughput(self, minutes).await
    }

    async fn worker_beat(&self, id: &str, queues: &str) -> Result<()> {
        super::operator::worker_beat(self, id, queues).await
    }

    async fn worker_stopped(&self, id: &str) -> Result<()> {
        sqlx::query(include_str!("sql/worker_stopped.sql"))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn worker_list(&self, seen_within: Duration) -> Result<Vec<crate::store::WorkerRecord>> {
        super::operator::worker_list(self, seen_within).await
    }

    async fn operator_actions(&self, filter: &ActionFilter) -> Result<Vec<OperatorAction>> {
        super::operator::actions(self, filter).await
    }

    async fn schedule_upsert(&self, schedule: &crate::schedule::Schedule) -> Result<()> {
        super::periodic::schedule_upsert(self, schedule).await
    }

    async fn schedule_remove(&self, name: &str) -> Result<bool> {
        let done = sqlx::query(include_str!("sql/schedule_remove.sql"))
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn schedule_list(&self) -> Result<crate::schedule::ScheduleListing> {
        super::periodic::schedule_list(self).await
    }

    async fn schedule_fire(&self, params: &crate::store::FireParams<'_>) -> Result<Option<i64>> {
        super::periodic::schedule_fire(self, params).await
    }

    async fn schedule_advance(
        &self,
        name: &str,
        last_period: DateTime<Utc>,
        next_period: Option<DateTime<Utc>>,
        term: &crate::store::LeaderTerm,
    ) -> Result<()> {
        super::periodic::schedule_advance(self, name, last_period, next_period, term).await
    }

    async fn leader_attempt_elect(
        &self,
        leader_id: &str,
        ttl: Duration,
    ) -> Result<Option<crate::store::LeaderTerm>> {
        super::periodic::leader_elect(self, leader_id, ttl).await
    }

    async fn leader_resign(&self, term: &crate::store::LeaderTerm) -> Result<bool> {
        let done = sqlx::query(include_str!("sql/leader_resign.sql"))
            .bind(&term.leader_id)
            .bind(term.term)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn leader_get(&self) -> Result<Option<crate::store::LeaderTerm>> {
        super::periodic::leader_get(self).await
    }

    async fn job_prune(
        &self,
        params: &crate::store::PruneParams,
        term: &crate::store::LeaderTerm,
    ) -> Result<u64> {
        super::periodic::job_prune(self, params, term).await
    }

    async fn firing_prune(
        &self,
        older_than: Duration,
        batch: u32,
        term: &crate::store::LeaderTerm,
    ) -> Result<u64> {
        super::periodic::firing_prune(self, older_than, batch, term).await
    }
}

impl MariaDbDriver {
    /// One batched completion (see `Driver::job_complete_many`).
    async fn complete_batch(&self, fences: &[Fence]) -> Result<Vec<Result<()>>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<[i64; 2]> = fences.iter().map(|f| [f.job_id, f.fence]).collect();
        let pairs = serde_json::to_string(&pairs)
            .map_err(|e| Error::Invalid(crate::error::ValidationError::Args(e.to_string())))?;
        let ids: Vec<i64> = fences.iter().map(|f| f.job_id).collect();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(include_str!("sql/job_complete_many.sql"))
            .bind(&pairs)
            .execute(&mut *tx)
            .await?;
        // Every attempt's row matched: all completed by this batch.
        if done.rows_affected() == fences.len() as u64 {
            tx.commit().await?;
            return Ok(fences.iter().map(|_| Ok(())).collect());
        }
        // Each outcome from the row as the batch left it: completed under
        // the attempt's own token is done (by this batch or before).
        let now: std::collections::HashMap<i64, (String, i64)> =
            sqlx::query(include_str!("sql/job_fence_states.sql"))
                .bind(id_array(&ids))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| -> Result<(i64, (String, i64))> {
                    Ok((row.try_get("id")?, rows::state_and_fence(row)?))
                })
                .collect::<Result<_>>()?;
        tx.commit().await?;
        Ok(fences
            .iter()
            .map(|&fence| decode::completion(fence, false, now.get(&fence.job_id).cloned()))
            .collect())
    }

    /// One rescue pass: pick the expired leases, settle them, count.
    async fn rescue(&self, limit: u32) -> Result<RescueReport> {
        let mut tx = self.pool.begin().await?;
        let picked: Vec<i64> = sqlx::query_scalar(include_str!("sql/job_rescue_pick.sql"))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut report = RescueReport::default();
        if picked.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
        let ids = id_array(&picked);
        sqlx::query(include_str!("sql/job_rescue.sql"))
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        let states = sqlx::query(include_str!("sql/job_fence_states.sql"))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        for row in &states {
            let (raw, _) = rows::state_and_fence(row)?;
            report.count(decode::state(0, &raw)?);
        }
        Ok(report)
    }

    /// A claim (or, with `reconcile`, a claim of in-doubt jobs to reconcile):
    /// pick and lock, reserve tokens, mark, read back — one transaction.
    async fn claim(
        &self,
        params: &ClaimParams,
        reconcile: Option<&ReconcileClaim>,
    ) -> Result<(Vec<Job>, Instant)> {
        if params.limit == 0 || params.kinds.is_empty() {
            return Ok((Vec::new(), Instant::now()));
        }
        let json = |kinds: &[String]| {
            serde_json::to_string(kinds)
                .map_err(|e| Error::Invalid(crate::error::ValidationError::Args(e.to_string())))
        };
        let kinds = json(&params.kinds)?;
        let mut tx = self.pool.begin().await?;
        // The leases count from the database's clock in this transaction:
        // waiting for a connection does not eat into them.
        let sent = Instant::now();
        let paused: i64 = sqlx::query_scalar(include_str!("sql/queue_paused.sql"))
            .bind(&params.queue)
            .fetch_one(&mut *tx)
            .await?;
        if paused > 0 {
            tx.commit().await?;
            return Ok((Vec::new(), Instant::now()));
        }
        let picked: Vec<i64> = match reconcile {
            None => {
                sqlx::query_scalar(include_str!("sql/job_claim_pick.sql"))
                    .bind(&params.queue)
                    .bind(&kinds)
                    .bind(i64::from(params.limit))
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(r) => {
                sqlx::query_scalar(include_str!("sql/job_claim_in_doubt_pick.sql"))
                    .bind(&params.queue)
                    .bind(micros(r.settle))
                    .bind(&kinds)
                    .bind(json(&r.every_job_kinds)?)
                    .bind(i64::from(params.limit))
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        if picked.is_empty() {
            tx.commit().await?;
            return Ok((Vec::new(), Instant::now()));
        }
        let count = picked.len() as i64;
        // `LAST_INSERT_ID(expr)` comes back in the statement's own result.
        let reserved = sqlx::query(include_str!("sql/fence_reserve.sql"))
            .bind(count)
            .execute(&mut *tx)
            .await?;
        let last = i64::try_from(reserved.last_insert_id())
            .map_err(|_| decode::corrupt(None, "fencing token out of range"))?;
        let ids = id_array(&picked);
        let mark = match reconcile {
            None => include_str!("sql/job_claim_mark.sql"),
            Some(_) => include_str!("sql/job_claim_in_doubt_mark.sql"),
        };
        sqlx::query(mark)
            .bind(&ids)
            .bind(last - count)
            .bind(micros(params.lease))
            .bind(&params.worker_id)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(include_str!("sql/job_rows.sql"))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let (jobs, unreadable) = decode::split_claimed(&rows, rows::job, rows::fence)?;
        for (fence, reason) in unreadable {
            tracing::error!(job = fence.job_id, %reason, "quarantining a claimed job");
            sqlx::query(include_str!("sql/job_quarantine.sql"))
                .bind(&reason)
                .bind(fence.job_id)
                .bind(fence.fence)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((jobs, sent))
    }
}
