//! What operators do by hand, as records: who decided and why ([`Decision`]),
//! the pause state of a queue ([`QueueState`]) and the append-only log of
//! every operator action ([`OperatorAction`]).
//!
//! Invariant: an operator verb of [`super::Driver`] that changes a job or a
//! queue writes its [`OperatorAction`] in the same transaction; a refused
//! action (unknown job, wrong state) changes nothing and records nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Longest actor name kept.
pub const MAX_ACTOR_CHARS: usize = 200;
/// Longest reason kept.
pub const MAX_REASON_CHARS: usize = 2000;

/// Who takes an operator action, and why: recorded with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Who (a person, `user@host`, or a console session's name).
    pub actor: String,
    /// Why, in the operator's words.
    pub reason: String,
}

impl Decision {
    /// A decision by `actor` for `reason`, trimmed and checked: both must be
    /// present, without NUL, and within [`MAX_ACTOR_CHARS`] / [`MAX_REASON_CHARS`].
    pub fn new(actor: &str, reason: &str) -> Result<Self, ValidationError> {
        let check = |what: &'static str, text: &str, limit: usize| {
            let text = text.trim();
            let len = text.chars().count();
            if len == 0 || len > limit {
                return Err(ValidationError::Decision { what, len, limit });
            }
            if text.contains('\0') {
                return Err(ValidationError::NulCharacter(what));
            }
            Ok(text.to_owned())
        };
        Ok(Decision {
            actor: check("actor", actor, MAX_ACTOR_CHARS)?,
            reason: check("reason", reason, MAX_REASON_CHARS)?,
        })
    }
}

/// A queue's pause state. Queues never paused have no record and are running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// The queue.
    pub name: String,
    /// Set while paused: no worker claims from it.
    pub paused_at: Option<DateTime<Utc>>,
    /// Who paused it (kept while paused).
    pub paused_by: Option<String>,
    /// Why it was paused (kept while paused).
    pub pause_reason: Option<String>,
    /// Last pause or resume.
    pub updated_at: DateTime<Utc>,
}

impl QueueState {
    /// True while no worker claims from the queue.
    pub fn paused(&self) -> bool {
        self.paused_at.is_some()
    }
}

/// One operator action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorAction {
    /// Order of recording.
    pub id: i64,
    /// When (database time).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// `cancel`, `retry`, `resolve:completed|retry|discarded`, `pause`, `resume`.
    pub action: String,
    /// The job acted on, if any.
    pub job_id: Option<i64>,
    /// The queue acted on, if any.
    pub queue: Option<String>,
    /// Why.
    pub reason: String,
    /// The state it left the job or queue in (`cancelled`, `running` for a
    /// cancel request, `available`, `paused`, ...).
    pub outcome: String,
}

/// Which actions [`super::Driver::operator_actions`] returns.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    /// Only actions on this job.
    pub job_id: Option<i64>,
    /// Only actions on this queue.
    pub queue: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// How many jobs reached one final state in one minute (database time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// `completed`, `discarded` or `cancelled`.
    pub state: crate::JobState,
    /// Jobs finalized in that minute and state.
    pub count: i64,
}

/// A worker process as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// Its worker id (`locked_by` on the jobs it claims).
    pub id: String,
    /// Its queues and concurrency, e.g. `mail=10,sms=4`.
    pub queues: String,
    /// When it first reported.
    pub started_at: DateTime<Utc>,
    /// Its last report (every heartbeat period while it runs).
    pub last_seen_at: DateTime<Utc>,
    /// When it shut down gracefully (None: running, or crashed).
    pub stopped_at: Option<DateTime<Utc>>,
}
