//! The periodic enqueuer: for each schedule, fires the periods that are due
//! (as its catch-up policy allows), each in one transaction that records the
//! `(schedule, period_start)` firing under a unique key and inserts its job.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Error, Result};
use crate::job::NewJob;
use crate::kinds::command;
use crate::schedule::{periods_to_fire, Schedule, ScheduleRecord};
use crate::store::{FireParams, LeaderTerm, Store};

/// Settings of the [`PeriodicEnqueuer`].
#[derive(Debug, Clone)]
pub struct PeriodicConfig {
    /// Time between passes; bounds how late a period fires. Default 1 s.
    pub interval: Duration,
}

impl Default for PeriodicConfig {
    fn default() -> Self {
        PeriodicConfig {
            interval: Duration::from_secs(1),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodicReport {
    /// Queues that received a job in this pass.
    pub queues: Vec<String>,
    /// Periods fired (jobs inserted) by this pass.
    pub fired: u64,
    /// Periods found already fired (by another server).
    pub already_fired: u64,
    /// Schedules skipped in this pass: unusable (row does not decode,
    /// definition does not validate) or failing (evaluation or their job refused).
    pub broken: u64,
}

/// Fires due periods.
pub struct PeriodicEnqueuer {
    store: Store,
    config: PeriodicConfig,
}

/// The job of one period: the schedule's job, unique per period; `command`
/// jobs also get `ONCELY_SCHEDULE` and `ONCELY_PERIOD` in their environment.
pub fn job_for_period(schedule: &Schedule, period: DateTime<Utc>) -> NewJob {
    let period_text = period.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut args = schedule.args.clone();
    if schedule.kind == command::KIND {
        if let Some(object) = args.as_object_mut() {
            let env = object.entry("env").or_insert_with(|| serde_json::json!({}));
            if let Some(env) = env.as_object_mut() {
                env.insert("ONCELY_SCHEDULE".into(), schedule.name.clone().into());
                env.insert("ONCELY_PERIOD".into(), period_text.clone().into());
            }
        }
    }
    let mut job = NewJob::new(&schedule.queue, &schedule.kind, args)
        .with_max_attempts(schedule.max_attempts)
        .with_unique_key(format!("schedule:{}:{period_text}", schedule.name));
    job.at_most_once = schedule.at_most_once || schedule.reconcilable;
    job.reconcilable = schedule.reconcilable;
    job
}

impl PeriodicEnqueuer {
    /// An enqueuer on `store`.
    pub fn new(store: Store, config: PeriodicConfig) -> Self {
        PeriodicEnqueuer { store, config }
    }

    /// The configuration.
    pub fn config(&self) -> &PeriodicConfig {
        &self.config
    }

    /// One pass over every schedule, as the leader of `term`. Stops with
    /// [`Error::LeadershipLost`] as soon as a write is refused for the term.
    /// A schedule that cannot be used (its row does not decode, its
    /// definition does not validate, evaluating it fails or panics, its job
    /// is refused) is skipped, logged and counted in
    /// [`PeriodicReport::broken`]; the others fire as usual.
    pub async fn run_once(&self, term: &LeaderTerm) -> Result<PeriodicReport> {
        let now = self.store.db_now().await?;
        let mut report = PeriodicReport::default();
        let listing = self.store.schedule_list().await?;
        for broken in &listing.broken {
            tracing::error!(schedule = %broken.name, reason = %broken.reason, "schedule skipped: unusable");
            report.broken += 1;
        }
        for record in &listing.records {
            match self.fire_due(record, now, term, &mut report).await {
                Ok(()) => {}
                Err(e) if is_leadership_lost(&e) => return Err(e),
                Err(error) => {
                    tracing::error!(schedule = %record.schedule.name, %error, "schedule skipped this pass");
                    report.broken += 1;
                }
            }
        }
        Ok(report)
    }

    /// Fires the due periods of one schedule and moves its `last_period`.
    async fn fire_due(
        &self,
        record: &ScheduleRecord,
        now: DateTime<Utc>,
        term: &LeaderTerm,
        report: &mut PeriodicReport,
    ) -> Result<()> {
        let schedule = &record.schedule;
        let anchor = record.last_period.unwrap_or(record.created_at);
        // Pure and panic-free by construction; a panic would still be a bug
        // in one schedule only, so it is contained here.
        let evaluated = std::panic::catch_unwind(|| {
            periods_to_fire(&schedule.spec, schedule.catch_up, anchor, now)
                .map(|due| (due, schedule.spec.next_after(now).ok().flatten()))
        });
        let (due, next) = match evaluated {
            Ok(result) => result?,
            Err(_) => {
                return Err(Error::Invalid(crate::ValidationError::Schedule(
                    "evaluating the schedule panicked".into(),
                )))
            }
        };
        let Some(&latest) = due.last() else {
            return Ok(());
        };
        for period in due {
            let job = job_for_period(schedule, period);
            let fired = self
                .store
                .schedule_fire(&FireParams {
                    schedule: &schedule.name,
                    period_start: period,
                    job: &job,
                    term,
                })
                .await?;
            match fired {
                Some(job_id) => {
                    tracing::info!(schedule = %schedule.name, %period, job_id, "fired period");
                    report.fired += 1;
                    if !report.queues.contains(&schedule.queue) {
                        report.queues.push(schedule.queue.clone());
                    }
                }
                None => report.already_fired += 1,
            }
        }
        self.store
            .schedule_advance(&schedule.name, latest, next, term)
            .await
    }
}

/// True when `error` means this server no longer leads.
pub fn is_leadership_lost(error: &Error) -> bool {
    matches!(error, Error::LeadershipLost { .. })
}
