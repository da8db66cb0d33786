//! [`JobContext`]: what a handler knows about the attempt it runs.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::lease_clock::LeaseClock;
use super::JobError;
use crate::job::Job;
use crate::store::{Fence, Store};

/// The attempt a handler runs: the job as claimed, its fencing token, and a
/// signal that fires when the attempt must stop (lease lost, job cancelled,
/// shutdown deadline). The executor also stops the handler's future then.
#[derive(Clone)]
pub struct JobContext {
    job: Arc<Job>,
    cancelled: CancellationToken,
    store: Store,
    lease: LeaseClock,
}

impl JobContext {
    pub(crate) fn new(
        job: Job,
        cancelled: CancellationToken,
        store: Store,
        lease: LeaseClock,
    ) -> Self {
        JobContext {
            job: Arc::new(job),
            cancelled,
            store,
            lease,
        }
    }

    /// Time left on this attempt's lease by the local monotonic clock,
    /// renewed by heartbeats; zero once another worker may have taken the job.
    pub fn lease_remaining(&self) -> std::time::Duration {
        self.lease.remaining()
    }

    /// Call right before an effect on an outside system: fails if the attempt
    /// must stop or its lease may have ended — e.g. the process was paused
    /// (GC, SIGSTOP) past its lease while another worker took the job — so a
    /// woken zombie does not act. The error retries the job; the effect was
    /// not started, and if another attempt owns the job the write is fenced out.
    pub fn check_lease(&self) -> Result<(), JobError> {
        if self.cancelled.is_cancelled() {
            return Err(JobError::retry(
                "the attempt was told to stop before its effect",
            ));
        }
        if self.lease.remaining().is_zero() {
            return Err(JobError::retry(
                "the lease may have ended before the effect (was this process paused?); not started",
            ));
        }
        Ok(())
    }

    /// The job as claimed.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job's id.
    pub fn id(&self) -> i64 {
        self.job.id
    }

    /// This attempt's number, from 1.
    pub fn attempt(&self) -> i32 {
        self.job.attempt
    }

    /// The fencing token of this attempt: larger than any earlier token.
    /// Fence your own writes with it (`... WHERE fence < $token`).
    pub fn token(&self) -> i64 {
        self.job.fence
    }

    /// Job id and token together, for [`crate::store::postgres::complete_tx`]
    /// and [`crate::store::sqlite::complete_tx`].
    pub fn fence(&self) -> Fence {
        Fence::of(&self.job)
    }

    /// Stable across attempts: send it to outside systems.
    pub fn idempotency_key(&self) -> &str {
        &self.job.idempotency_key
    }

    /// The args, decoded. Malformed args can never succeed, so the error
    /// discards the job.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.job.args.clone())
            .map_err(|e| JobError::discard(format!("malformed args for {}: {e}", self.job.kind)))
    }

    /// True once the attempt must stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// Resolves when the attempt must stop.
    pub async fn cancelled(&self) {
        self.cancelled.cancelled().await
    }

    /// A recovery point. If an earlier attempt of this job finished step
    /// `name`, returns its stored result without running `step` again;
    /// otherwise runs `step` and stores its result, fenced on this attempt,
    /// before returning it. A later attempt resumes at the first unfinished step.
    ///
    /// If the step ran but its result cannot be stored, the attempt fails with
    /// [`JobError::Failed`]: an at-most-once job goes in doubt, never back to
    /// work. The step itself is not made atomic: if the worker dies after the step's
    /// effect but before its result is stored, the step runs again, so steps
    /// that touch outside systems should still be idempotent or reconcilable.
    pub async fn step<T, F, Fut>(&self, name: &str, step: F) -> Result<T, JobError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, JobError>>,
    {
        let stored = self
            .store
            .step_get(self.job.id, name)
            .await
            .map_err(JobError::retry)?;
        if let Some(value) = stored {
            return serde_json::from_value(value).map_err(|e| {
                JobError::discard(format!("stored result of step {name:?} is unreadable: {e}"))
            });
        }
        let result = step().await?;
        let value = serde_json::to_value(&result).map_err(|e| {
            JobError::discard(format!("result of step {name:?} cannot be stored: {e}"))
        })?;
        // The step has run: a failure to store its result is not "safe to
        // retry" (an at-most-once job goes in doubt; an idempotent one retries).
        self.store
            .step_put(self.fence(), name, &value)
            .await
            .map_err(|e| {
                JobError::Failed(format!(
                    "step {name:?} ran but its result could not be stored: {e}"
                ))
            })?;
        Ok(result)
    }

    /// The store the job came from.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job.id)
            .field("attempt", &self.job.attempt)
            .field("fence", &self.job.fence)
            .finish()
    }
}
