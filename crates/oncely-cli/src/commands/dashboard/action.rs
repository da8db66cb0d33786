//! One operator action of the console — retry, cancel, resolve, pause,
//! resume — as the JSON API and the pages both ask for it: parsed from the
//! route, performed through the library verb the CLI uses (recorded with who
//! and why), and described for the person who asked.

use oncely::store::{Decision, QueueState, Resolution};
use oncely::{Job, JobState, Store};

use super::problem::Problem;

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make a job that is not running available now.
    Retry(i64),
    /// Cancel a job (a running one is asked to stop).
    Cancel(i64),
    /// Decide an in-doubt job.
    Resolve(i64, Resolution),
    /// Stop every worker from claiming from a queue.
    Pause(String),
    /// Let workers claim from a queue again.
    Resume(String),
}

/// What an action left.
#[derive(Debug)]
pub enum Done {
    /// The job, as the action left it.
    Job(Box<Job>),
    /// The queue's pause state.
    Queue(QueueState),
}

/// The result and a sentence about it.
#[derive(Debug)]
pub struct Outcome {
    /// What the action left.
    pub done: Done,
    /// For the person who asked.
    pub message: String,
}

/// A job id from a path: a positive integer.
pub fn job_id(raw: &str) -> Result<i64, Problem> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::bad_request(format!("job id {raw:?} is not a positive integer")))
}

fn no_such_action() -> Problem {
    Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such action",
    )
}

impl Action {
    /// `verb` (`retry`, `cancel`, `resolve`) on job `id`; `resolution` is the
    /// request's `as` field (resolve only).
    pub fn on_job(id: &str, verb: &str, resolution: Option<&str>) -> Result<Action, Problem> {
        match verb {
            "retry" => Ok(Action::Retry(job_id(id)?)),
            "cancel" => Ok(Action::Cancel(job_id(id)?)),
            "resolve" => {
                let id = job_id(id)?;
                let raw = resolution.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
                    Problem::bad_request("a resolution needs \"as\": completed, retry or discarded")
                })?;
                let resolution =
                    Resolution::parse(raw).map_err(|e| Problem::from(oncely::Error::from(e)))?;
                Ok(Action::Resolve(id, resolution))
            }
            _ => Err(no_such_action()),
        }
    }

    /// `verb` (`pause`, `resume`) on queue `name`.
    pub fn on_queue(name: &str, verb: &str) -> Result<Action, Problem> {
        match verb {
            "pause" => Ok(Action::Pause(name.to_owned())),
            "resume" => Ok(Action::Resume(name.to_owned())),
            _ => Err(no_such_action()),
        }
    }

    /// The reason recorded when none is given (a resolution needs one).
    fn default_reason(&self, via: &str) -> Option<String> {
        let done = match self {
            Action::Retry(_) => "retried",
            Action::Cancel(_) => "cancelled",
            Action::Resolve(..) => return None,
            Action::Pause(_) => "paused",
            Action::Resume(_) => "resumed",
        };
        Some(format!("{done} from {via}"))
    }

    /// Performs the action for `actor`, recording `reason` (or, when it is
    /// empty, a default naming `via`, e.g. "the console API").
    pub async fn perform(
        self,
        store: &Store,
        actor: &str,
        reason: Option<&str>,
        via: &str,
    ) -> Result<Outcome, Problem> {
        let given = reason.map(str::trim).filter(|r| !r.is_empty());
        let reason = match (given, self.default_reason(via)) {
            (Some(r), _) => r.to_owned(),
            (None, Some(default)) => default,
            (None, None) => {
                return Err(Problem::bad_request("a resolution needs a reason: say why"))
            }
        };
        let by =
            Decision::new(actor, &reason).map_err(|e| Problem::from(oncely::Error::from(e)))?;
        let job = |job: Job, message: String| Outcome {
            done: Done::Job(Box::new(job)),
            message,
        };
        Ok(match self {
            Action::Retry(id) => {
                let j = store.job_retry_now(id, &by).await?;
                let message = format!("job {} is {}", j.id, j.state);
                job(j, message)
            }
            Action::Cancel(id) => {
                let j = store.job_cancel(id, &by).await?;
                let message = if j.state == JobState::Running {
                    format!(
                        "job {} is running: cancel requested; it is cancelled once attempt {} has stopped",
                        j.id, j.attempt
                    )
                } else {
                    format!("job {} is {}", j.id, j.state)
                };
                job(j, message)
            }
            Action::Resolve(id, resolution) => {
                let j = store.job_resolve(id, resolution, &by).await?;
                let message = format!("job {} is {} ({})", j.id, j.state, resolution.note(&by));
                job(j, message)
            }
            Action::Pause(name) => Outcome {
                message: format!("queue {name} is paused"),
                done: Done::Queue(store.queue_pause(&name, &by).await?),
            },
            Action::Resume(name) => Outcome {
                message: format!("queue {name} runs again"),
                done: Done::Queue(store.queue_resume(&name, &by).await?),
            },
        })
    }
}
