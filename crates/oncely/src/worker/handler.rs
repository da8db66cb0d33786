//! What applications implement: a [`Worker`] per job kind, returning
//! `Ok(())` to complete the job or a [`JobError`] saying what to do instead.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use super::JobContext;

/// What happens to a job whose attempt may have started its effect on an
/// outside system when the attempt's worker vanished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EffectPolicy {
    /// The effect is safe to repeat (the job's idempotency key goes to the
    /// outside system): a crashed attempt is simply retried.
    #[default]
    Idempotent,
    /// An attempt that may have started the effect is never repeated on its
    /// own: the job goes in doubt and waits for a person.
    AtMostOnce,
    /// Like at-most-once, but the kind can ask the outside system what
    /// happened: in-doubt jobs run [`Worker::reconcile`].
    Reconcilable,
}

impl EffectPolicy {
    /// The policy a stored job carries: reconcilable, at-most-once, or idempotent.
    pub fn of_job(at_most_once: bool, reconcilable: bool) -> Self {
        match (at_most_once, reconcilable) {
            (_, true) => EffectPolicy::Reconcilable,
            (true, false) => EffectPolicy::AtMostOnce,
            (false, false) => EffectPolicy::Idempotent,
        }
    }
}

impl EffectPolicy {
    /// The policy an attempt runs under: the strictest of the policy that the
    /// worker registered for the kind declares and the flags stored on the
    /// job (a job can be made stricter than its kind, never weaker). This is
    /// the one place where the two are combined; the executor raises the
    /// stored flags to it before a handler starts.
    pub fn effective(declared: EffectPolicy, at_most_once: bool, reconcilable: bool) -> Self {
        let (amo, rec) = declared.flags();
        EffectPolicy::of_job(amo || at_most_once, rec || reconcilable)
    }

    /// The stored flags of this policy: `(at_most_once, reconcilable)`.
    pub fn flags(self) -> (bool, bool) {
        match self {
            EffectPolicy::Idempotent => (false, false),
            EffectPolicy::AtMostOnce => (true, false),
            EffectPolicy::Reconcilable => (true, true),
        }
    }
}

impl fmt::Display for EffectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EffectPolicy::Idempotent => "idempotent",
            EffectPolicy::AtMostOnce => "at-most-once",
            EffectPolicy::Reconcilable => "reconcilable",
        })
    }
}

/// What a reconcile step found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciliation {
    /// The effect happened (and the step recorded it): complete the job.
    Done,
    /// The effect did not happen: run the job again.
    NotDone,
    /// Cannot tell yet: stay in doubt and ask again later, with backoff.
    Unknown(String),
}

/// Runs the jobs of one kind.
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    /// Does the work of one attempt. `Ok(())` completes the job.
    async fn work(&self, ctx: JobContext) -> Result<(), JobError>;

    /// How this kind's effects behave under crashes. Whoever inserted a job
    /// and with whatever flags, an attempt run by this worker runs under the
    /// strictest of this policy and the job's stored flags
    /// ([`EffectPolicy::effective`]); the stored flags are raised to it before
    /// the handler starts, so the rescuer and later attempts obey it too.
    fn policy(&self) -> EffectPolicy {
        EffectPolicy::Idempotent
    }

    /// Whether [`Worker::reconcile`] is implemented. If so, in-doubt jobs of
    /// this kind inserted reconcilable ([`crate::NewJob::reconcilable`]) are
    /// claimed to reconcile whatever the kind's policy; with the policy
    /// [`EffectPolicy::Reconcilable`] every in-doubt job of the kind is.
    /// Default: whether the policy is [`EffectPolicy::Reconcilable`].
    fn has_reconcile_step(&self) -> bool {
        self.policy() == EffectPolicy::Reconcilable
    }

    /// For reconcilable kinds and jobs: asks the outside system
    /// whether an in-doubt job's effect happened. Runs under its own lease and
    /// fencing token, like an attempt.
    async fn reconcile(&self, _ctx: JobContext) -> Reconciliation {
        Reconciliation::Unknown("this kind has no reconcile step".into())
    }
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
    /// The effect may or may not have happened (a timeout, a dropped
    /// connection): never retry blindly; the job goes in doubt, to be
    /// reconciled or decided by a person.
    InDoubt(String),
    /// An error raised with `?` (any `std::error::Error`): the handler did
    /// not say whether the effect may have started. Retried like
    /// [`JobError::Retry`] for idempotent jobs; an at-most-once job goes in
    /// doubt instead. Return [`JobError::retry`] to say a retry is safe.
    Failed(String),
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
            JobError::InDoubt(reason) => write!(f, "in doubt: {reason}"),
            JobError::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

/// Any error converts to [`JobError::Failed`], so handlers can use `?`.
impl<E: std::error::Error> From<E> for JobError {
    fn from(error: E) -> Self {
        JobError::Failed(error.to_string())
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
