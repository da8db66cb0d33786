//! Everything the console shows about one job, read in one go: the row, its
//! effect policy, its attempts (each with fencing token, worker, start, end,
//! outcome and error), its recovery points and the operator decisions on it.
//!
//! Attempts are rebuilt from the row: every entry of its history names the
//! attempt it concerns; the latest attempt's token, worker and start are on
//! the row itself. Entries written before schema 9 carry no token or worker.

use chrono::{DateTime, Utc};
use oncely::store::{ActionFilter, OperatorAction, StepRecord};
use oncely::{EffectPolicy, Job, JobState, Store};
use serde::Serialize;

/// Operator decisions shown per job.
const DECISIONS: u32 = 200;

/// One attempt of a job.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1-based.
    pub attempt: i32,
    /// The fencing token of its claim, when known.
    pub fence: Option<i64>,
    /// The worker that ran it, when known.
    pub worker: Option<String>,
    /// When it started, when known.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (None: still running, or not recorded).
    pub ended_at: Option<DateTime<Utc>>,
    /// `running`, `completed`, or what its history says (`failed`).
    pub outcome: String,
    /// Its error, if it ended with one.
    pub error: Option<String>,
}

/// The job page's content.
#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    /// The row.
    pub job: Job,
    /// The effect policy stored on it.
    pub policy: String,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
    /// Recovery points.
    pub steps: Vec<StepRecord>,
    /// Operator decisions, newest first.
    pub decisions: Vec<OperatorAction>,
}

/// Reads job `id`; `NotFound` when there is none.
pub async fn read(store: &Store, id: i64) -> oncely::Result<JobDetail> {
    let job = store
        .job_get(id)
        .await?
        .ok_or(oncely::Error::NotFound(id))?;
    let steps = store.step_list(id).await?;
    let decisions = store
        .operator_actions(&ActionFilter {
            job_id: Some(id),
            limit: Some(DECISIONS),
            ..ActionFilter::default()
        })
        .await?;
    Ok(JobDetail {
        policy: EffectPolicy::of_job(job.at_most_once, job.reconcilable).to_string(),
        attempts: attempts(&job),
        steps,
        decisions,
        job,
    })
}

/// The attempts of a job, oldest first.
pub fn attempts(job: &Job) -> Vec<Attempt> {
    let mut out: Vec<Attempt> = Vec::new();
    for entry in job.errors.iter().filter(|e| e.attempt > 0) {
        // Operator notes (a retry, a resolution, a cancel request) end no
        // attempt; entries from before schema 9 carry no outcome and were
        // failures or operator notes.
        let outcome = entry.outcome.clone().unwrap_or_else(|| "failed".into());
        let ends = !matches!(outcome.as_str(), "operator" | "cancel requested");
        match out.iter_mut().find(|a| a.attempt == entry.attempt) {
            Some(a) => {
                let error = a.error.take().map(|e| format!("{e}; ")).unwrap_or_default();
                a.error = Some(format!("{error}{}", entry.error));
                if ends && a.ended_at.is_none() {
                    a.ended_at = Some(entry.at);
                    a.outcome = outcome;
                }
            }
            None => out.push(Attempt {
                attempt: entry.attempt,
                fence: entry.fence.filter(|f| *f > 0),
                worker: entry.worker.clone(),
                started_at: entry.started_at,
                ended_at: ends.then_some(entry.at),
                outcome: if ends { outcome } else { "running".into() },
                error: Some(entry.error.clone()),
            }),
        }
    }
    if job.attempt > 0 {
        let running = job.state == JobState::Running;
        match out.iter_mut().find(|a| a.attempt == job.attempt) {
            Some(a) => {
                a.fence = a.fence.or(Some(job.fence));
                a.worker = a.worker.clone().or(job.locked_by.clone());
                a.started_at = a.started_at.or(job.attempted_at);
                if running {
                    // A reconciliation runs under the attempt it checks.
                    a.outcome = "running".into();
                    a.ended_at = None;
                } else if a.ended_at.is_none() {
                    a.outcome = job.state.to_string();
                    a.ended_at = job.finalized_at;
                }
            }
            None => out.push(Attempt {
                attempt: job.attempt,
                fence: Some(job.fence),
                worker: job.locked_by.clone(),
                started_at: job.attempted_at,
                ended_at: if running { None } else { job.finalized_at },
                outcome: if running {
                    "running".into()
                } else {
                    job.state.to_string()
                },
                error: None,
            }),
        }
    }
    out.sort_by_key(|a| a.attempt);
    out
}
