//! What applications implement: a [`Worker`] per job kind, returning
//! `Ok(())` to complete the job or a [`JobError`] saying what to do instead.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use super::JobContext;

/// Runs the jobs of one kind.
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    /// Does the work of one attempt. `Ok(())` completes the job.
    async fn work(&self, ctx: JobContext) -> Result<(), JobError>;
}

/// How an attempt ended when it did not complete the job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// A failure worth retrying, after `delay` or the client's backoff.
    /// Once attempts are used up the job is discarded.
    Retry {
        /// What went wrong.
        error: String,
        /// Wait this long instead of the backoff.
        delay: Option<Duration>,
    },
    /// A failure retrying cannot fix: discard the job now.
    Discard(String),
    /// Not now: run again after this delay without using up an attempt.
    Snooze(Duration),
    /// Cancel the job (final).
    Cancel(String),
}

impl JobError {
    /// Retry after the backoff.
    pub fn retry(error: impl fmt::Display) -> Self {
        JobError::Retry {
            error: error.to_string(),
            delay: None,
        }
    }

    /// Retry after `delay`.
    pub fn retry_after(error: impl fmt::Display, delay: Duration) -> Self {
        JobError::Retry {
            error: error.to_string(),
            delay: Some(delay),
        }
    }

    /// Discard now.
    pub fn discard(error: impl fmt::Display) -> Self {
        JobError::Discard(error.to_string())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Retry { error, .. } => write!(f, "retry: {error}"),
            JobError::Discard(error) => write!(f, "discard: {error}"),
            JobError::Snooze(d) => write!(f, "snooze for {d:?}"),
            JobError::Cancel(reason) => write!(f, "cancel: {reason}"),
        }
    }
}

/// Any error converts to a retry, so handlers can use `?`.
impl<E: std::error::Error> From<E> for JobError {
    fn from(error: E) -> Self {
        JobError::retry(error)
    }
}

/// A [`Worker`] made from an async function or closure.
pub struct FnWorker<F>(pub F);

#[async_trait]
impl<F, Fut> Worker for FnWorker<F>
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        (self.0)(ctx).await
    }
}
