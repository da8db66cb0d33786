//! Errors of the library, one enum per concern.
//!
//! Invariant: a write that was rejected because the caller no longer holds the
//! job's lease is reported as [`Error::LeaseLost`], never as "not found" and
//! never as a database failure, so callers can tell "someone else owns this
//! job now" from "the database is down".

use crate::job::JobState;

/// Why a fenced write was rejected: what the job looked like when it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseLost {
    /// The job whose write was rejected.
    pub job_id: i64,
    /// The fencing token the rejected write carried.
    pub fence: i64,
    /// The job's state when the write was rejected (`None` if the row is gone).
    pub current_state: Option<JobState>,
    /// The job's fencing token when the write was rejected (`None` if the row is gone).
    pub current_fence: Option<i64>,
}

impl std::fmt::Display for LeaseLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lease lost on job {} (fence {}): ",
            self.job_id, self.fence
        )?;
        match (self.current_state, self.current_fence) {
            (None, _) | (_, None) => write!(f, "the job no longer exists"),
            (Some(JobState::Cancelled), _) => write!(f, "the job was cancelled"),
            (Some(state), Some(cur)) if cur != self.fence => {
                write!(f, "the job was claimed again (now {state}, fence {cur})")
            }
            (Some(JobState::Running), Some(_)) => write!(
                f,
                "the database failed over since this attempt began (its token is of timeline {}); \
                 its earlier writes may be lost with the old primary, so none of its writes is accepted",
                self.fence >> 40
            ),
            (Some(state), Some(_)) => write!(f, "the job is {state}, no longer running"),
        }
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A fenced write came from an attempt that no longer holds the lease.
    #[error("{0}")]
    LeaseLost(LeaseLost),
    /// A leader-only write came from a leader whose term is over.
    #[error("leadership lost: {leader_id} no longer leads with term {term}")]
    LeadershipLost {
        /// Who believed it led.
        leader_id: String,
        /// The stale term.
        term: i64,
    },
    /// No job with this id exists.
    #[error("job {0} not found")]
    NotFound(i64),
    /// The job exists but cannot make the asked transition from its state.
    #[error("job {id} is {state}: cannot {action}")]
    InvalidTransition {
        /// The job.
        id: i64,
        /// Its current state.
        state: JobState,
        /// What was asked.
        action: &'static str,
    },
    /// Input was rejected before anything was written.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The database URL could not be understood.
    #[error("invalid database URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database's schema was written by a newer oncely.
    #[error("database schema is at version {found}, newer than this binary knows ({supported}): upgrade oncely")]
    SchemaTooNew {
        /// Version recorded in the database.
        found: i64,
        /// Newest version this binary knows.
        supported: i64,
    },
    /// The database's schema is older than this binary needs.
    #[error(
        "database schema is at version {found}, this binary needs {needed}: run `oncely migrate`"
    )]
    SchemaTooOld {
        /// Version recorded in the database (0: never migrated).
        found: i64,
        /// Version this binary needs.
        needed: i64,
    },
    /// A migration could not be applied (what failed, and whether running
    /// it again is safe).
    #[error("migration failed: {0}")]
    Migration(String),
    /// A row read from the database does not hold what oncely wrote.
    #[error("corrupt row in {table} (id {id:?}): {reason}")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// The row's id when it could be read.
        id: Option<i64>,
        /// What is wrong.
        reason: String,
    },
    /// The first connection to the database failed or timed out.
    #[error("cannot connect to {backend} at {address}: {cause}")]
    Connect {
        /// `PostgreSQL` or `SQLite`.
        backend: &'static str,
        /// Host and port, or the file's path (never a password).
        address: String,
        /// Why: the database's or the network's own words, or the timeout.
        cause: String,
    },
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A worker shutting down gave up a write the database did not answer
    /// in time after the hard stop (the rescuer takes the job once its lease
    /// ends).
    #[error("write abandoned: shutting down and the database did not answer within {0:?}")]
    ShutdownDeadline(std::time::Duration),
}

impl Error {
    /// True when this is a rejected fenced write.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Error::LeaseLost(_))
    }
}

/// Input that oncely refuses to store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Queue names are `[A-Za-z0-9_.-]{1,128}`.
    #[error("queue name {0:?} is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . -")]
    QueueName(String),
    /// Kind names are `[A-Za-z0-9_.:-]{1,128}`.
    #[error("job kind {0:?} is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : -")]
    KindName(String),
    /// Args must be a JSON object or array.
    #[error("job args are invalid: {0}")]
    Args(String),
    /// Args larger than [`crate::job::MAX_ARGS_BYTES`].
    #[error("job args are {size} bytes, over the limit of {limit} bytes")]
    ArgsTooLarge {
        /// Serialized size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Priority outside 0..=9.
    #[error("priority {0} is out of range 0..=9 (0 runs first)")]
    Priority(i64),
    /// max_attempts outside 1..=1000.
    #[error("max_attempts {0} is out of range 1..=1000")]
    MaxAttempts(i64),
    /// Unique key empty or longer than 512 bytes.
    #[error("unique key must be 1 to 512 bytes, got {0}")]
    UniqueKey(usize),
    /// Idempotency key empty or longer than 255 bytes.
    #[error("idempotency key must be 1 to 255 bytes, got {0}")]
    IdempotencyKey(usize),
    /// A duration that must be positive was not.
    #[error("{0} must be positive")]
    NonPositive(&'static str),
    /// Schedule names follow the kind rules.
    #[error("schedule name {0:?} is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : -")]
    ScheduleName(String),
    /// A cron expression, time zone or catch-up policy that does not work.
    #[error("invalid schedule: {0}")]
    Schedule(String),
    /// A job state name that does not exist.
    #[error("unknown job state {0:?}")]
    State(String),
    /// Text that no backend can store the same way: a NUL character
    /// (`\u0000`; PostgreSQL refuses it in JSON and text).
    #[error("{0} contains a NUL character (\\u0000), which cannot be stored")]
    NulCharacter(&'static str),
    /// An operator action without who or why, or with too much of either.
    #[error("{what} must be 1 to {limit} characters, got {len}")]
    Decision {
        /// `actor` or `reason`.
        what: &'static str,
        /// Characters given (after trimming).
        len: usize,
        /// The most allowed.
        limit: usize,
    },
}

/// The message of a caught panic (a handler's, or a maintenance pass's).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

/// Shorthand for results of this library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
