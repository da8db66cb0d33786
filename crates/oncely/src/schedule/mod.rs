//! Periodic jobs: a [`Schedule`] names a [`Spec`] (a cron expression in a
//! time zone, or a fixed interval) and the job to insert once per period.
//!
//! Periods are identified by their start instant (UTC). Computing them is pure
//! and deterministic, so every server agrees on them; the database then
//! enforces one job per `(schedule, period_start)`.

mod catch_up;
mod spec;

use serde::{Deserialize, Serialize};

pub use catch_up::{periods_to_fire, CatchUp};
pub use spec::{Spec, MAX_INTERVAL_SECS};

use crate::error::ValidationError;
use crate::job::{validate_kind, validate_queue};

/// A periodic job definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Unique name (`[A-Za-z0-9_.:-]{1,128}`).
    pub name: String,
    /// When periods start.
    pub spec: Spec,
    /// Queue of the jobs it inserts.
    pub queue: String,
    /// Kind of the jobs it inserts.
    pub kind: String,
    /// Args of the jobs it inserts (a JSON object or array).
    pub args: serde_json::Value,
    /// The jobs are at-most-once.
    pub at_most_once: bool,
    /// The jobs are reconcilable (and so at-most-once): in doubt, their
    /// kind's reconcile step finds out whether the effect happened.
    #[serde(default)]
    pub reconcilable: bool,
    /// Attempts of each job.
    pub max_attempts: i32,
    /// What to do about periods missed while no server ran.
    pub catch_up: CatchUp,
}

impl Schedule {
    /// A schedule with default options (catch-up: run once for the latest missed period).
    pub fn new(
        name: impl Into<String>,
        spec: Spec,
        queue: impl Into<String>,
        kind: impl Into<String>,
        args: serde_json::Value,
    ) -> Self {
        Schedule {
            name: name.into(),
            spec,
            queue: queue.into(),
            kind: kind.into(),
            args,
            at_most_once: false,
            reconcilable: false,
            max_attempts: crate::job::DEFAULT_MAX_ATTEMPTS,
            catch_up: CatchUp::default(),
        }
    }

    /// Checks names, args and the spec.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_kind(&self.name).map_err(|_| ValidationError::ScheduleName(self.name.clone()))?;
        validate_queue(&self.queue)?;
        validate_kind(&self.kind)?;
        self.spec.validate()?;
        self.catch_up.validate()?;
        let job = crate::job::NewJob::new(&self.queue, &self.kind, self.args.clone())
            .with_max_attempts(self.max_attempts);
        job.validate()?;
        Ok(())
    }
}

/// A stored schedule and what the fleet did with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRecord {
    /// The definition.
    pub schedule: Schedule,
    /// Start of the newest period fired (database time).
    pub last_period: Option<chrono::DateTime<chrono::Utc>>,
    /// Start of the next period as last computed by the leader.
    pub next_period: Option<chrono::DateTime<chrono::Utc>>,
    /// When the schedule was first stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A stored schedule that cannot be used: its row does not decode, or its
/// definition no longer validates (e.g. written by another version). It is
/// skipped and reported; the other schedules fire as usual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenSchedule {
    /// The schedule's name as stored.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Every stored schedule: those that can be used, and those that cannot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScheduleListing {
    /// Usable schedules, by name.
    pub records: Vec<ScheduleRecord>,
    /// Unusable ones, by name.
    pub broken: Vec<BrokenSchedule>,
}

impl ScheduleListing {
    /// Sorts a decoded row into `records` or, if it failed to decode or
    /// validate, into `broken`.
    pub(crate) fn push(&mut self, name: String, decoded: crate::Result<ScheduleRecord>) {
        let checked = decoded.and_then(|record| match record.schedule.validate() {
            Ok(()) => Ok(record),
            Err(e) => Err(e.into()),
        });
        match checked {
            Ok(record) => self.records.push(record),
            Err(error) => self.broken.push(BrokenSchedule {
                name,
                reason: error.to_string(),
            }),
        }
    }
}
