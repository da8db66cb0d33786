//! Parameter and result structs of the [`super::Driver`] verbs.

use std::time::Duration;

use crate::job::{Job, JobState};

/// Which database a driver talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: many servers.
    Postgres,
    /// SQLite: the embedded default, processes on one host.
    Sqlite,
    /// MariaDB (10.6+): many servers, polling instead of notifications.
    MariaDb,
}

/// The identity of one attempt: a job and the fencing token of its claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    /// The job.
    pub job_id: i64,
    /// The token its claim issued.
    pub fence: i64,
}

impl Fence {
    /// The fence of a job as claimed.
    pub fn of(job: &Job) -> Self {
        Fence {
            job_id: job.id,
            fence: job.fence,
        }
    }
}

/// Arguments of [`super::Driver::job_claim`].
#[derive(Debug, Clone)]
pub struct ClaimParams {
    /// Queue to claim from.
    pub queue: String,
    /// Only jobs of these kinds are claimed (the ones this worker can run).
    pub kinds: Vec<String>,
    /// Claim at most this many (the worker's free slots).
    pub limit: u32,
    /// Lease length, counted from the database clock.
    pub lease: Duration,
    /// Recorded as `locked_by`.
    pub worker_id: String,
}

/// What [`super::Driver::job_claim_in_doubt`] adds to a [`ClaimParams`].
#[derive(Debug, Clone, Default)]
pub struct ReconcileClaim {
    /// Kinds whose policy reconciles every in-doubt job (other jobs must have
    /// been inserted reconcilable).
    pub every_job_kinds: Vec<String>,
    /// A job is reconciled no sooner than this after it became due (went in
    /// doubt, or its last reconciliation could not tell), so that a request
    /// of the uncertain attempt still in flight at the outside system lands
    /// before anyone asks about it.
    pub settle: Duration,
}

/// Arguments of [`super::Driver::job_retry`].
#[derive(Debug, Clone)]
pub struct RetryParams {
    /// The failed attempt.
    pub fence: Fence,
    /// What went wrong.
    pub error: String,
    /// Backoff before the next attempt.
    pub delay: Duration,
    /// A reconcile step found that the attempt's effect did not happen: the
    /// job runs again even if that was its last attempt (one more is granted,
    /// at most the job's original `max_attempts` times in all).
    pub rerun: bool,
}

/// What a heartbeat learned: the new lease, and whether an operator asked the
/// attempt to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The lease now ends at this instant (database time).
    pub lease_expires_at: chrono::DateTime<chrono::Utc>,
    /// An operator cancelled the job: stop the attempt and record `cancelled`.
    pub cancel_requested: bool,
}

/// Result of [`super::Driver::job_insert`].
#[derive(Debug, Clone)]
pub struct InsertOutcome {
    /// The inserted job, or the existing one with the same unique key.
    pub job: Job,
    /// False when an existing job was returned instead of inserting.
    pub inserted: bool,
}

/// Filter of [`super::Driver::job_list`]: every field set narrows the list.
/// Jobs come newest first; pass the last id of one page as `before_id` for
/// the next (keyset pagination: each page costs the same at any depth).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this queue.
    pub queue: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only jobs whose args or errors contain this text (case-insensitive).
    /// Scans rather than indexes: narrow by queue, kind or state on big tables.
    pub text: Option<String>,
    /// Only jobs older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// At most this many rows (default 100).
    pub limit: Option<u32>,
}

/// A stored recovery point of a job, as listed for operators.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// Its stored result.
    pub result: serde_json::Value,
    /// The fencing token of the attempt that stored it.
    pub fence: i64,
    /// When it was stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One line of [`super::Driver::queue_counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCount {
    /// The queue.
    pub queue: String,
    /// The state.
    pub state: JobState,
    /// How many jobs of the queue are in that state.
    pub count: i64,
}

/// What one rescue pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RescueReport {
    /// Expired leases made retryable.
    pub retried: u64,
    /// Expired leases with no attempts left, discarded.
    pub discarded: u64,
    /// Expired at-most-once jobs, now in doubt.
    pub in_doubt: u64,
}

impl RescueReport {
    /// Jobs touched in all.
    pub fn total(&self) -> u64 {
        self.retried + self.discarded + self.in_doubt
    }

    pub(crate) fn count(&mut self, state: JobState) {
        match state {
            JobState::Discarded => self.discarded += 1,
            JobState::InDoubt => self.in_doubt += 1,
            _ => self.retried += 1,
        }
    }
}

/// A leadership term: who leads and the fencing token of their election.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaderTerm {
    /// The leader.
    pub leader_id: String,
    /// Grows with every change of leader; leader-only writes are fenced on it.
    pub term: i64,
    /// When this term began (database time).
    pub elected_at: chrono::DateTime<chrono::Utc>,
    /// When the leadership lapses unless extended (database time).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Arguments of [`super::Driver::schedule_fire`].
#[derive(Debug, Clone)]
pub struct FireParams<'a> {
    /// The schedule's name.
    pub schedule: &'a str,
    /// The period being fired.
    pub period_start: chrono::DateTime<chrono::Utc>,
    /// The job to insert for it.
    pub job: &'a crate::job::NewJob,
    /// The term of the leader firing it.
    pub term: &'a LeaderTerm,
}

/// Arguments of [`super::Driver::job_prune`].
#[derive(Debug, Clone)]
pub struct PruneParams {
    /// Delete completed jobs finalized longer ago than this.
    pub completed_older_than: Duration,
    /// Delete discarded and cancelled jobs finalized longer ago than this.
    pub others_older_than: Duration,
    /// Rows per statement.
    pub batch: u32,
}

/// An operator's decision about an in-doubt job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The effect happened: the job is completed.
    Completed,
    /// The effect did not happen: run the job again.
    Retry,
    /// Give the job up.
    Discarded,
}

impl Resolution {
    /// The state the job moves to.
    pub fn state(self) -> JobState {
        match self {
            Resolution::Completed => JobState::Completed,
            Resolution::Retry => JobState::Available,
            Resolution::Discarded => JobState::Discarded,
        }
    }

    /// `completed`, `retry` or `discarded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Completed => "completed",
            Resolution::Retry => "retry",
            Resolution::Discarded => "discarded",
        }
    }

    /// The note recorded on the job: what was decided, by whom, why.
    pub fn note(self, by: &super::Decision) -> String {
        format!(
            "resolved as {} by {}: {}",
            self.as_str(),
            by.actor,
            by.reason
        )
    }

    /// Parses `completed`, `retry` or `discarded`.
    pub fn parse(s: &str) -> Result<Self, crate::ValidationError> {
        match s {
            "completed" => Ok(Resolution::Completed),
            "retry" => Ok(Resolution::Retry),
            "discarded" => Ok(Resolution::Discarded),
            other => Err(crate::ValidationError::Args(format!(
                "resolution {other:?}: use completed, retry or discarded"
            ))),
        }
    }
}
