//! The storage boundary: one [`Driver`] trait, one implementation per backend.
//!
//! Verbs are noun-first (`job_claim`, `job_complete`, ...) and take plain
//! parameter structs. Every verb that depends on holding a lease takes a
//! [`Fence`] and is conditional on `(job id, fencing token, state = running)`
//! in the same SQL statement; when that condition fails the verb returns
//! [`crate::Error::LeaseLost`] and has changed nothing.
//!
//! All instants (leases, backoff, run_at of retries) are computed from the
//! database's clock inside SQL; callers pass durations, never timestamps of
//! their own, so a worker with a wrong clock still gets correct leases.
//!
//! SQL lives in `.sql` files next to each backend's migrations:
//! `store/postgres/{sql,migrations}` and `store/sqlite/{sql,migrations}`.

mod decode;
pub mod mariadb;
mod migration;
mod operator;
mod params;
pub mod postgres;
mod schedule_rows;
pub mod sqlite;
mod url;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::{Job, NewJob};

pub use migration::{Migration, MigrationReport};
pub use operator::{
    ActionFilter, Decision, MinuteCount, OperatorAction, QueueState, WorkerRecord, MAX_ACTOR_CHARS,
    MAX_REASON_CHARS,
};
pub use params::{
    Backend, ClaimParams, Fence, FireParams, Heartbeat, InsertOutcome, JobFilter, LeaderTerm,
    PruneParams, QueueCount, ReconcileClaim, RescueReport, Resolution, RetryParams, StepRecord,
};
pub use url::DatabaseUrl;

/// A shared handle on a backend.
pub type Store = Arc<dyn Driver>;

/// Opens the database named by `url` (`postgres://…`, `postgresql://…`,
/// `mysql://…`, `mariadb://…` or `sqlite://PATH`). Does not migrate; call [`Driver::migrate`] or check with
/// [`Driver::check_schema`].
///
/// SQLite commits are durable (`synchronous=FULL`). `sqlite://PATH?synchronous=normal`
/// opts into SQLite's faster mode, which can lose the last commits (claims,
/// completions, inserts) on a power loss or OS crash — never on a process crash.
pub async fn connect(url: &str) -> Result<Store> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Postgres(url) => Ok(Arc::new(postgres::PgDriver::connect(&url).await?)),
        DatabaseUrl::MariaDb(url) => Ok(Arc::new(mariadb::MariaDbDriver::connect(&url).await?)),
        DatabaseUrl::Sqlite(path) => {
            let durability = sqlite::Durability::from_url(url)?;
            Ok(Arc::new(
                sqlite::SqliteDriver::open_with(&path, durability).await?,
            ))
        }
    }
}

/// What every backend provides. One conformance suite (`tests/conformance`)
/// runs against each implementation.
#[async_trait]
pub trait Driver: Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies missing migrations. Idempotent; refuses a newer schema.
    async fn migrate(&self) -> Result<MigrationReport>;

    /// Fails unless the schema is exactly the version this binary needs.
    async fn check_schema(&self) -> Result<()>;

    /// The database's clock.
    async fn db_now(&self) -> Result<DateTime<Utc>>;

    /// Inserts a job, or returns the existing non-final job with the same unique key.
    async fn job_insert(&self, job: &NewJob) -> Result<InsertOutcome>;

    /// Inserts many jobs at once (one statement per call on PostgreSQL, one
    /// transaction on SQLite); jobs whose unique key is held are skipped.
    /// Returns how many were inserted. All are validated before anything is written.
    async fn job_insert_many(&self, jobs: &[NewJob]) -> Result<u64>;

    /// Claims up to `limit` due jobs of `queue` whose kind is in `kinds`:
    /// each gets attempt + 1, a lease from the database clock and a new
    /// fencing token. Losing a race is not an error: it claims fewer.
    async fn job_claim(&self, params: &ClaimParams) -> Result<Vec<Job>>;

    /// [`Driver::job_claim`], with the instant the claim was sent: the leases
    /// it grants count from the database's clock at or after that instant,
    /// so a worker may count them from it. A backend that waits for a
    /// connection first stamps it after the wait (a slow connect must not eat
    /// into the leases); by default it is the instant of the call.
    async fn job_claim_sent(&self, params: &ClaimParams) -> Result<(Vec<Job>, std::time::Instant)> {
        let sent = std::time::Instant::now();
        Ok((self.job_claim(params).await?, sent))
    }

    /// Extends the lease of a running attempt. Returns the new expiry and
    /// whether an operator asked the attempt to stop.
    async fn job_heartbeat(&self, fence: Fence, lease: std::time::Duration) -> Result<Heartbeat>;

    /// Makes the running attempt's job at least as strict as asked (flags are
    /// only ever raised: at-most-once, reconcilable — which implies
    /// at-most-once). Called before the handler starts, so that the rescuer,
    /// a shutdown release and every later attempt see the strictest policy.
    async fn job_raise_policy(
        &self,
        fence: Fence,
        at_most_once: bool,
        reconcilable: bool,
    ) -> Result<()>;

    /// Marks the attempt's job completed. Repeating it for the same fence
    /// after it took effect is a no-op success.
    async fn job_complete(&self, fence: Fence) -> Result<()>;

    /// Completes many attempts in one go, each fenced as in
    /// [`Driver::job_complete`]: one outcome per fence, in order — `Ok` when
    /// the job is completed by that attempt (now, or already), `LeaseLost`
    /// (with the job's current state and token) otherwise.
    async fn job_complete_many(&self, fences: &[Fence]) -> Result<Vec<Result<()>>>;

    /// Hands back attempts that never started (jobs a worker claimed ahead of
    /// its free slots and did not get to in time, or holds at shutdown), each
    /// fenced: the job is due again as it was — the attempt not counted, a
    /// reconciliation back in doubt — or cancelled if an operator asked.
    /// Returns the ids handed back; the others no longer held their lease.
    async fn job_unclaim_many(&self, fences: &[Fence]) -> Result<Vec<i64>>;

    /// Records a failed attempt: retryable after `delay`, or discarded when
    /// attempts are used up. Returns the state it moved to.
    async fn job_retry(&self, params: &RetryParams) -> Result<crate::job::JobState>;

    /// Discards the job now (a failure retrying cannot fix).
    async fn job_discard(&self, fence: Fence, error: &str) -> Result<()>;

    /// Puts the job back to sleep for `delay` without using up an attempt.
    async fn job_snooze(&self, fence: Fence, delay: std::time::Duration) -> Result<()>;

    /// The handler cancelled its own job.
    async fn job_cancel_running(&self, fence: Fence, reason: &str) -> Result<()>;

    /// Hands the lease back (graceful shutdown): available again at once, or
    /// in doubt for an at-most-once job whose handler had started.
    async fn job_release(&self, fence: Fence, reason: &str) -> Result<crate::job::JobState>;

    /// Moves running jobs whose lease expired to retryable, discarded (no
    /// attempts left) or in doubt (at-most-once). At most `limit` per call.
    async fn job_rescue_expired(&self, limit: u32) -> Result<RescueReport>;

    /// Claims up to `limit` in-doubt jobs of `queue` to reconcile them: a
    /// new token and lease, `reconciling` set, the attempt unchanged. A job is
    /// taken once it has been due for `reconcile.settle`, if its kind is in
    /// `params.kinds` (kinds with a reconcile step) and it was inserted
    /// reconcilable or its kind is in `reconcile.every_job_kinds`.
    async fn job_claim_in_doubt(
        &self,
        params: &ClaimParams,
        reconcile: &ReconcileClaim,
    ) -> Result<Vec<Job>>;

    /// The attempt may or may not have had its effect: the job waits in doubt,
    /// for reconciliation after `delay` or for a person.
    async fn job_doubt(&self, fence: Fence, reason: &str, delay: std::time::Duration)
        -> Result<()>;

    /// Operator: decides an in-doubt job. The decision is recorded on the
    /// job (its errors) and in the operator log, in the same transaction.
    async fn job_resolve(&self, id: i64, resolution: Resolution, by: &Decision) -> Result<Job>;

    /// A recovery point: the stored result of step `name` of job `job_id`.
    async fn step_get(&self, job_id: i64, name: &str) -> Result<Option<serde_json::Value>>;

    /// Every stored recovery point of a job, oldest first.
    async fn step_list(&self, job_id: i64) -> Result<Vec<StepRecord>>;

    /// Stores the result of a finished step, fenced on the attempt. A step
    /// already stored is kept (the first result wins).
    async fn step_put(&self, fence: Fence, name: &str, result: &serde_json::Value) -> Result<()>;

    /// Operator: cancels a job that is not final. One that is not running is
    /// cancelled at once; a running one is asked to stop and stays `running`
    /// (its lease held, [`Job::cancel_requested_at`] set) until its attempt
    /// has provably ended — its worker stops it and records `cancelled`, or
    /// its lease runs out and the rescuer does — so nothing can claim or
    /// retry it while the attempt may still act. Recorded in the operator log.
    async fn job_cancel(&self, id: i64, by: &Decision) -> Result<Job>;

    /// Operator: makes a job that is not running available now. Recorded in
    /// the operator log.
    async fn job_retry_now(&self, id: i64, by: &Decision) -> Result<Job>;

    /// Reads one job.
    async fn job_get(&self, id: i64) -> Result<Option<Job>>;

    /// Lists jobs, newest first.
    async fn job_list(&self, filter: &JobFilter) -> Result<Vec<Job>>;

    /// Job counts by queue and state.
    async fn queue_counts(&self) -> Result<Vec<QueueCount>>;

    /// Operator: pauses a queue across the fleet — no claim or reconcile
    /// claim takes from it until it is resumed; attempts already running go
    /// on. Survives restarts. Pausing a paused queue keeps its first pause
    /// (and records the request).
    async fn queue_pause(&self, queue: &str, by: &Decision) -> Result<QueueState>;

    /// Operator: lets workers claim from the queue again.
    async fn queue_resume(&self, queue: &str, by: &Decision) -> Result<QueueState>;

    /// Every queue ever paused, with its pause state, by name.
    async fn queue_states(&self) -> Result<Vec<QueueState>>;

    /// Jobs finalized per minute and final state over the last `minutes`
    /// minutes (still-kept history; pruned jobs are not counted).
    async fn job_throughput(&self, minutes: u32) -> Result<Vec<MinuteCount>>;

    /// A worker reports itself alive (its queues as configured); workers
    /// unseen for a day are forgotten.
    async fn worker_beat(&self, id: &str, queues: &str) -> Result<()>;

    /// A worker shut down gracefully.
    async fn worker_stopped(&self, id: &str) -> Result<()>;

    /// Workers seen within `seen_within`, most recent first.
    async fn worker_list(&self, seen_within: std::time::Duration) -> Result<Vec<WorkerRecord>>;

    /// The operator log, newest first.
    async fn operator_actions(&self, filter: &ActionFilter) -> Result<Vec<OperatorAction>>;

    /// Stores a schedule (insert, or update its definition keeping its history).
    async fn schedule_upsert(&self, schedule: &crate::schedule::Schedule) -> Result<()>;

    /// Removes a schedule. False when there was none. Its firing records stay.
    async fn schedule_remove(&self, name: &str) -> Result<bool>;

    /// Every schedule with its last and next period; those whose row does
    /// not decode or no longer validates are listed apart as broken (one bad
    /// row never hides the others).
    async fn schedule_list(&self) -> Result<crate::schedule::ScheduleListing>;

    /// Leader-only: records the period as fired and inserts its job, in one
    /// transaction. `Ok(None)` when the period had already fired;
    /// [`crate::Error::LeadershipLost`] when the term is stale.
    async fn schedule_fire(&self, params: &FireParams<'_>) -> Result<Option<i64>>;

    /// Leader-only: moves `last_period` forward (never back) and records `next_period`.
    async fn schedule_advance(
        &self,
        name: &str,
        last_period: DateTime<Utc>,
        next_period: Option<DateTime<Utc>>,
        term: &LeaderTerm,
    ) -> Result<()>;

    /// Takes or extends leadership for `ttl`. `None`: someone else leads.
    async fn leader_attempt_elect(
        &self,
        leader_id: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<LeaderTerm>>;

    /// Gives leadership up if still held with this term.
    async fn leader_resign(&self, term: &LeaderTerm) -> Result<bool>;

    /// The current leader, if any (its lease may have run out).
    async fn leader_get(&self) -> Result<Option<LeaderTerm>>;

    /// Leader-only: deletes one batch of old final jobs. Returns how many.
    async fn job_prune(&self, params: &PruneParams, term: &LeaderTerm) -> Result<u64>;

    /// Leader-only: deletes one batch of firing records older than `older_than`.
    async fn firing_prune(
        &self,
        older_than: std::time::Duration,
        batch: u32,
        term: &LeaderTerm,
    ) -> Result<u64>;

    /// With several PostgreSQL hosts behind the URL: checks that writes go to
    /// the primary and, after a failover, points new connections at the host
    /// that accepts writes now (connections to the old one are dropped).
    async fn ensure_primary(&self) -> Result<PrimaryCheck> {
        Ok(PrimaryCheck::SingleServer)
    }

    /// After a promotion (a new PostgreSQL timeline): holds in doubt every
    /// at-most-once or reconcilable job that was due and not running — its
    /// claim may have been lost with the old primary — then records the
    /// timeline as settled. Until then claims skip such jobs. Always holds:
    /// the database cannot tell whether replication lost anything, and a
    /// per-process choice would let the least careful process decide for all.
    /// `Ok(None)`: nothing to settle (or a backend without timelines).
    async fn epoch_settle(&self) -> Result<Option<EpochSettled>> {
        Ok(None)
    }

    /// A stream of "a job became available in queue Q" wake-ups, where the
    /// backend has one (PostgreSQL). `None`: workers rely on polling.
    async fn listen(&self) -> Result<Option<Box<dyn JobListener>>> {
        Ok(None)
    }
}

/// What [`Driver::ensure_primary`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryCheck {
    /// One server (or SQLite): nothing to watch.
    SingleServer,
    /// Writes still go to the primary.
    Unchanged,
    /// The primary changed: writes go to this host now.
    Switched(String),
}

/// What [`Driver::epoch_settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSettled {
    /// The timeline now settled.
    pub epoch: i64,
    /// Jobs held in doubt.
    pub held: u64,
}

/// A wake-up from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// A job became available in this queue.
    Queue(String),
    /// The leader resigned: try to take over now.
    LeaderResigned,
    /// An operator asked the running attempt of this job to stop: its
    /// worker heartbeats now instead of at its next period.
    CancelRequested(i64),
}

/// Wake-ups from the database. Best effort; polling covers what it misses.
#[async_trait]
pub trait JobListener: Send {
    /// Waits for the next wake-up.
    async fn recv(&mut self) -> Result<Wakeup>;
}
