//! A job as stored: the row every backend returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::JobState;

/// One entry of a job's history, kept on the job for operators: an attempt
/// that ended without completing (failed, timed out, lost its worker, was
/// handed back, cancelled, put in doubt), or an operator's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    /// The attempt it concerns (1-based; 0 before any attempt).
    pub attempt: i32,
    /// When it was recorded (database time).
    pub at: DateTime<Utc>,
    /// What went wrong, or what was decided.
    pub error: String,
    /// How the attempt ended (`failed`, `discarded`, `in_doubt`, `released`,
    /// `lease expired`, `cancelled`, `quarantined`), or `operator` /
    /// `cancel requested` for an operator's note that ended nothing. Entries
    /// written before schema 9 have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The fencing token of that attempt (entries written before schema 9
    /// and operator decisions on a job not running have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<i64>,
    /// The worker that ran that attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// When that attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique, never reused.
    pub id: i64,
    /// The queue it waits in.
    pub queue: String,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub args: serde_json::Value,
    /// Where it is in its life.
    pub state: JobState,
    /// 0 runs first, 9 last.
    pub priority: i16,
    /// Not claimed before this instant (database time).
    pub run_at: DateTime<Utc>,
    /// Attempts started so far (the running one included).
    pub attempt: i32,
    /// After this many failed attempts the job is discarded.
    pub max_attempts: i32,
    /// Fencing token of the latest claim; larger than every earlier token.
    pub fence: i64,
    /// When the current lease ends, while running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Which worker claimed it last.
    pub locked_by: Option<String>,
    /// True when an attempt that may have started its effect must never be
    /// repeated automatically: a vanished worker leaves it in doubt.
    pub at_most_once: bool,
    /// In doubt, the job is claimed to run its kind's reconcile step (by any
    /// worker of its kind that has one).
    pub reconcilable: bool,
    /// Deduplication key among jobs that are not final.
    pub unique_key: Option<String>,
    /// Stable across attempts; send it to outside systems.
    pub idempotency_key: String,
    /// Per-attempt time limit in milliseconds, if any.
    pub timeout_ms: Option<i64>,
    /// One entry per failed attempt, oldest first.
    pub errors: Vec<AttemptError>,
    /// When it was inserted.
    pub created_at: DateTime<Utc>,
    /// When the latest attempt started.
    pub attempted_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub finalized_at: Option<DateTime<Utc>>,
    /// The current (or last) claim runs the kind's reconcile step, not its work.
    pub reconciling: bool,
    /// An operator cancelled the job while an attempt ran: the job stays
    /// running until that attempt has ended, then becomes cancelled.
    #[serde(default)]
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Attempts granted beyond `max_attempts` because a reconcile step found
    /// that the last attempt's effect did not happen (at most the original
    /// `max_attempts`).
    #[serde(default)]
    pub reruns: i32,
}
