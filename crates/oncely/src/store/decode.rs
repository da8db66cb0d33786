//! Helpers shared by the backends to turn raw column values into a [`Job`],
//! reporting anything unexpected as [`Error::CorruptRow`] instead of panicking.

use chrono::{DateTime, Utc};

use crate::error::{Error, LeaseLost};
use crate::job::{AttemptError, Job, JobState};
use crate::store::Fence;

pub(crate) const JOBS: &str = "oncely_jobs";

pub(crate) fn corrupt(id: Option<i64>, reason: impl Into<String>) -> Error {
    Error::CorruptRow {
        table: JOBS,
        id,
        reason: reason.into(),
    }
}

pub(crate) fn state(id: i64, raw: &str) -> Result<JobState, Error> {
    raw.parse()
        .map_err(|_| corrupt(Some(id), format!("unknown state {raw:?}")))
}

pub(crate) fn errors(id: i64, raw: serde_json::Value) -> Result<Vec<AttemptError>, Error> {
    serde_json::from_value(raw).map_err(|e| corrupt(Some(id), format!("errors column: {e}")))
}

pub(crate) fn json(id: i64, column: &str, raw: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(raw).map_err(|e| corrupt(Some(id), format!("{column} column: {e}")))
}

pub(crate) fn timestamp(id: i64, column: &str, raw: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(Some(id), format!("{column} {raw:?}: {e}")))
}

pub(crate) fn opt_timestamp(
    id: i64,
    column: &str,
    raw: Option<String>,
) -> Result<Option<DateTime<Utc>>, Error> {
    raw.map(|r| timestamp(id, column, &r)).transpose()
}

/// Builds the error of a rejected fenced write from the row as it is now.
pub(crate) fn lease_lost(fence: Fence, current: Option<(String, i64)>) -> Error {
    let (current_state, current_fence) = match current {
        Some((raw, cur)) => (raw.parse().ok(), Some(cur)),
        None => (None, None),
    };
    Error::LeaseLost(LeaseLost {
        job_id: fence.job_id,
        fence: fence.fence,
        current_state,
        current_fence,
    })
}

/// A duration as SQLite's date modifier, e.g. `+1.500 seconds`.
pub(crate) fn sqlite_modifier(d: std::time::Duration) -> String {
    format!("+{:.3} seconds", d.as_secs_f64())
}

/// A SQLite date modifier going `d` back in time (`'-2.500 seconds'`).
pub(crate) fn sqlite_modifier_back(d: std::time::Duration) -> String {
    format!("-{:.3} seconds", d.as_secs_f64())
}

/// A timestamp in SQLite's stored form (sorts as text).
pub(crate) fn sqlite_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A claimed row that does not decode: its fence, and why.
pub(crate) type Unreadable = (Fence, String);

/// Claimed rows split into the jobs that decode, in claim order, and the
/// fences of those that do not (with why), to be quarantined: one corrupt
/// row must not fail a whole claim and strand the jobs claimed with it.
pub(crate) fn split_claimed<R>(
    rows: &[R],
    job: impl Fn(&R) -> Result<Job, Error>,
    fence: impl Fn(&R) -> Result<Fence, Error>,
) -> Result<(Vec<Job>, Vec<Unreadable>), Error> {
    let mut jobs = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in rows {
        match job(row) {
            Ok(j) => jobs.push(j),
            Err(e) => {
                unreadable.push((fence(row)?, format!("corrupt row, discarded at claim: {e}")))
            }
        }
    }
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    Ok((jobs, unreadable))
}

/// The outcome of one fenced completion in a batch: done by this statement,
/// or explained by the job's current `(state, token)`: already completed by
/// the same attempt is a success, anything else a lost lease.
pub(crate) fn completion(
    fence: Fence,
    done: bool,
    current: Option<(String, i64)>,
) -> Result<(), Error> {
    match current {
        _ if done => Ok(()),
        Some((state, token)) if token == fence.fence && state == JobState::Completed.as_str() => {
            Ok(())
        }
        other => Err(lease_lost(fence, other)),
    }
}
