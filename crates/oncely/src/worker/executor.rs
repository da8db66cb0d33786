//! Runs one claimed job: the handler in its own task, heartbeats, the time
//! limit, the lease deadline, and the fenced write of the outcome.
//!
//! Invariants: before the handler starts, the job's stored effect policy is
//! raised to the strictest of the worker's and the row's
//! ([`EffectPolicy::effective`]), so the rescuer and any later attempt obey it;
//! the handler never outlives the executor (its task is aborted, and awaited,
//! when the executor stops waiting for it); heartbeats run beside the handler
//! with a timeout, never blocking the watch on the lease; an attempt whose
//! lease was not renewed is stopped [`ClientConfig::stop_margin`] before it
//! could end, so it has stopped acting before the database can hand the job to
//! someone else; an operator's cancel, seen by a heartbeat, stops the attempt
//! and is recorded fenced; every final write is fenced; an at-most-once
//! attempt or a reconciliation that is cut short (time limit, panic, shutdown,
//! vanished worker) goes in doubt, never back to work.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::completer::Completer;
use super::config::ClientConfig;
use super::lease_clock::LeaseClock;
use super::stats::{Counter, Stats};
use super::{EffectPolicy, JobContext, JobError, Reconciliation, Worker};
use crate::error::Error;
use crate::job::{Job, JobState};
use crate::store::{Fence, Heartbeat, RetryParams, Store};

/// After a shutdown's hard stop, a pending write gets the lease divided by
/// this much more time before it is abandoned.
const SHUTDOWN_WRITE_SHARE: u32 = 4;

/// How one attempt ended, as seen by the executor.
#[derive(Debug)]
enum End {
    Returned(Result<(), JobError>),
    /// A reconcile step found that the effect did not happen: run the job
    /// again, not counting the attempt.
    NotDone,
    Panicked(String),
    TimedOut(Duration),
    LeaseLost(crate::LeaseLost),
    /// No heartbeat renewed the lease in time: stopped before it could end.
    LeaseDeadline,
    /// An operator cancelled the job.
    CancelRequested,
    Shutdown,
}

impl End {
    /// The outcome's name for metrics.
    fn label(&self) -> &'static str {
        match self {
            End::Returned(Ok(())) => "completed",
            End::Returned(Err(_)) => "failed",
            End::NotDone => "not_done",
            End::Panicked(_) => "panicked",
            End::TimedOut(_) => "timed_out",
            End::LeaseLost(_) => "lease_lost",
            End::LeaseDeadline => "deadline",
            End::CancelRequested => "cancelled",
            End::Shutdown => "shutdown",
        }
    }
}

/// A heartbeat in flight: when it was sent, and its answer (`None`: timed out).
type Beat = Pin<Box<dyn Future<Output = (Instant, Option<crate::Result<Heartbeat>>)> + Send>>;

/// Everything an executor needs besides the job.
#[derive(Clone)]
pub(crate) struct Executor {
    pub store: Store,
    pub config: Arc<ClientConfig>,
    pub stats: Arc<Stats>,
    /// Fires when the shutdown grace period is over.
    pub hard_stop: CancellationToken,
    /// Writes completions in batches.
    pub completer: Completer,
    /// Nudges an attempt whose job an operator cancelled.
    pub wakeups: Arc<super::wakeups::Wakeups>,
}

/// How an attempt ended, to be written (fenced) by [`Outcome::record`].
pub(crate) struct Outcome {
    executor: Executor,
    fence: Fence,
    attempt: i32,
    at_most_once: bool,
    end: End,
    doubt_delay: Duration,
}

impl Outcome {
    /// Writes the outcome of the attempt.
    pub(crate) async fn record(self) {
        let Outcome {
            executor,
            fence,
            attempt,
            at_most_once,
            end,
            doubt_delay,
        } = self;
        executor
            .record(fence, attempt, at_most_once, end, doubt_delay)
            .await;
    }
}

impl Executor {
    /// Runs `job`, claimed by a request sent at `asked`, with `worker` until
    /// the attempt has stopped, and returns how to record its outcome (`None`
    /// when it never started). The caller frees the slot then and writes the
    /// outcome with [`Outcome::record`]: the write is not handler work.
    pub(crate) async fn attempt(
        self,
        worker: Arc<dyn Worker>,
        mut job: Job,
        asked: Instant,
    ) -> Option<Outcome> {
        let fence = Fence::of(&job);
        if !job.reconciling && !self.enforce_policy(worker.as_ref(), &mut job).await {
            return None;
        }
        let attempt = job.attempt;
        let reconciling = job.reconciling;
        let at_most_once = job.at_most_once;
        let doubts = job.errors.len();
        let timeout = job
            .timeout_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis)
            .or(self.config.default_timeout);
        let cancel = CancellationToken::new();
        let lease = LeaseClock::new(asked, self.config.lease);
        let observed = self.stats.observer().map(|o| {
            let due = job.run_at.max(job.created_at);
            let waited = job
                .attempted_at
                .and_then(|at| (at - due).to_std().ok())
                .unwrap_or_default()
                + asked.elapsed();
            o.started(&job.queue, &job.kind, waited);
            (job.queue.clone(), job.kind.clone(), Instant::now())
        });
        let span = tracing::info_span!(
            "attempt",
            queue = %job.queue,
            kind = %job.kind,
            job = job.id,
            attempt,
            fence = fence.fence,
            reconciling,
        );
        let ctx = JobContext::new(job, cancel.clone(), self.store.clone(), lease.clone());
        span.in_scope(|| tracing::debug!("attempt started"));
        let end = self
            .supervise(worker, ctx, cancel, timeout, lease, asked)
            .instrument(span.clone())
            .await;
        if let (Some(observer), Some((queue, kind, started))) = (self.stats.observer(), observed) {
            observer.finished(&queue, &kind, end.label(), started.elapsed());
        }
        // A reconcile step that could not tell asks again later, with backoff;
        // an at-most-once attempt cut short goes in doubt at once (to be
        // reconciled or decided).
        let doubt_delay = if reconciling {
            self.config.backoff.delay(doubts as i32 + 1)
        } else {
            Duration::ZERO
        };
        let end = match doubt_reason(&end, at_most_once, reconciling) {
            Some(reason) => End::Returned(Err(JobError::InDoubt(reason))),
            None => end,
        };
        if reconciling && matches!(end, End::Returned(Ok(())) | End::NotDone) {
            self.stats.add(Counter::Reconciled, 1);
        }
        span.in_scope(|| tracing::debug!(?end, "attempt ended"));
        Some(Outcome {
            executor: self,
            fence,
            attempt,
            at_most_once,
            end,
            doubt_delay,
        })
    }

    /// Raises the job's stored policy to the effective one before anything
    /// runs. False when the attempt must not start (the raise was refused or
    /// failed; nothing has happened yet, so the rescuer may safely retry it).
    async fn enforce_policy(&self, worker: &dyn Worker, job: &mut Job) -> bool {
        let declared = worker.policy();
        let effective = EffectPolicy::effective(declared, job.at_most_once, job.reconcilable);
        let (at_most_once, reconcilable) = effective.flags();
        if (at_most_once, reconcilable) == (job.at_most_once, job.reconcilable) {
            return true;
        }
        let stored = EffectPolicy::of_job(job.at_most_once, job.reconcilable);
        let fence = Fence::of(job);
        match self
            .retrying(|| {
                self.store
                    .job_raise_policy(fence, at_most_once, reconcilable)
            })
            .await
        {
            Ok(()) => {
                tracing::warn!(
                    job = job.id,
                    kind = %job.kind,
                    %stored,
                    %declared,
                    %effective,
                    "job was stored with a weaker effect policy than its kind's worker declares; running it as {effective}"
                );
                self.stats.add(Counter::PolicyRaised, 1);
                job.at_most_once = at_most_once;
                job.reconcilable = reconcilable;
                true
            }
            Err(Error::LeaseLost(lost)) => {
                tracing::warn!(%lost, "not started: lease lost before the policy was raised");
                self.stats.add(Counter::LeaseLost, 1);
                false
            }
            Err(error) => {
                tracing::error!(job = job.id, %error, "not started: could not raise the job's effect policy; the rescuer will retry it");
                self.stats.add(Counter::WriteFailed, 1);
                false
            }
        }
    }

    async fn supervise(
        &self,
        worker: Arc<dyn Worker>,
        ctx: JobContext,
        cancel: CancellationToken,
        timeout: Option<Duration>,
        lease: LeaseClock,
        asked: Instant,
    ) -> End {
        let fence = ctx.fence();
        let reconciling = ctx.job().reconciling;
        let started = Instant::now();
        let mut handler = JoinSet::new();
        handler.spawn(async move {
            if !reconciling {
                return worker.work(ctx).await.map_err(Some);
            }
            match worker.reconcile(ctx).await {
                Reconciliation::Done => Ok(()),
                Reconciliation::NotDone => Err(None),
                Reconciliation::Unknown(why) => {
                    Err(Some(JobError::InDoubt(format!("reconcile: {why}"))))
                }
            }
        });
        let every = self.config.heartbeat_every;
        // Renewals are due a period after the lease was asked for (a job held
        // in the producer's buffer started later than that).
        let mut heartbeat = tokio::time::interval_at((asked + every).max(started), every);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let deadline = timeout.map(|t| started + t);
        let margin = self.config.stop_margin();
        let mut beat: Option<Beat> = None;
        // An announced cancel: heartbeat now, which reports the request.
        let watch = self.wakeups.watch(fence.job_id);
        let end = loop {
            // Recomputed each turn: a renewal moves it forward.
            let stop_at = lease
                .deadline()
                .checked_sub(margin)
                .unwrap_or_else(Instant::now);
            tokio::select! {
                joined = handler.join_next() => break match joined {
                    Some(Ok(Ok(()))) => End::Returned(Ok(())),
                    Some(Ok(Err(Some(error)))) => End::Returned(Err(error)),
                    Some(Ok(Err(None))) => End::NotDone,
                    Some(Err(e)) if e.is_panic() => End::Panicked(crate::error::panic_message(e.into_panic().as_ref())),
                    _ => End::Panicked("handler task ended without a result".into()),
                },
                _ = heartbeat.tick(), if beat.is_none() => {
                    beat = Some(self.send_heartbeat(fence, stop_at));
                }
                _ = watch.nudged.notified(), if beat.is_none() => {
                    beat = Some(self.send_heartbeat(fence, stop_at));
                }
                (sent, answer) = in_flight(&mut beat) => {
                    beat = None;
                    match answer {
                        Some(Ok(hb)) => {
                            lease.renewed(sent);
                            if hb.cancel_requested {
                                break End::CancelRequested;
                            }
                        }
                        Some(Err(Error::LeaseLost(lost))) => break End::LeaseLost(lost),
                        Some(Err(error)) => {
                            tracing::warn!(job = fence.job_id, %error, "heartbeat failed");
                        }
                        None => tracing::warn!(job = fence.job_id, "heartbeat timed out"),
                    }
                }
                _ = tokio::time::sleep_until(stop_at) => break End::LeaseDeadline,
                _ = sleep_until_opt(deadline) => break End::TimedOut(timeout.unwrap_or_default()),
                _ = self.hard_stop.cancelled() => break End::Shutdown,
            }
        };
        drop(watch);
        if !matches!(end, End::Returned(_) | End::NotDone | End::Panicked(_)) {
            // Tell the handler, give it a moment to stop on its own, then abort it.
            // Heartbeats have stopped: whatever the reason, the handler must
            // be gone a tenth of the lease before the lease could end; with
            // the lease already lost, another attempt may run: no grace.
            let grace = if matches!(end, End::LeaseLost(_)) {
                Duration::ZERO
            } else {
                self.config
                    .deadline_grace()
                    .min(lease.remaining().saturating_sub(self.config.lease / 10))
            };
            cancel.cancel();
            let _ = tokio::time::timeout(grace, handler.join_next()).await;
        }
        // Abort and wait until the handler's future is dropped (a `command`
        // program is killed then), so the attempt has stopped when this returns.
        handler.abort_all();
        while handler.join_next().await.is_some() {}
        end
    }

    /// A heartbeat that gives up when the attempt would have to stop anyway
    /// (and after at most one heartbeat period).
    fn send_heartbeat(&self, fence: Fence, stop_at: Instant) -> Beat {
        let store = self.store.clone();
        let lease = self.config.lease;
        let limit = self
            .config
            .heartbeat_every
            .min(stop_at.saturating_duration_since(Instant::now()));
        Box::pin(async move {
            let sent = Instant::now();
            let answer = tokio::time::timeout(limit, store.job_heartbeat(fence, lease))
                .await
                .ok();
            (sent, answer)
        })
    }

    /// Writes how the attempt ended; an in-doubt job is asked about again
    /// (reconciled) no sooner than `doubt_delay`.
    async fn record(
        &self,
        fence: Fence,
        attempt: i32,
        at_most_once: bool,
        end: End,
        doubt_delay: Duration,
    ) {
        let store = &self.store;
        let (counter, result) = match end {
            End::Returned(Ok(())) => (
                Counter::Completed,
                self.retrying(|| self.completer.complete(fence))
                    .await
                    .map(|_| ()),
            ),
            End::Returned(Err(JobError::Retry { error, delay })) => {
                let delay = delay.unwrap_or_else(|| self.config.backoff.delay(attempt));
                (
                    Counter::Retried,
                    self.fail(fence, error, delay, false).await,
                )
            }
            End::NotDone => (
                Counter::Retried,
                self.fail(
                    fence,
                    "reconciled: the effect did not happen; running the job again".into(),
                    Duration::ZERO,
                    true,
                )
                .await,
            ),
            // At-most-once jobs went in doubt before they got here.
            End::Returned(Err(JobError::Failed(error))) => {
                let delay = self.config.backoff.delay(attempt);
                (
                    Counter::Retried,
                    self.fail(fence, error, delay, false).await,
                )
            }
            End::Returned(Err(JobError::Discard(error))) => (
                Counter::Discarded,
                self.retrying(|| store.job_discard(fence, &error)).await,
            ),
            End::Returned(Err(JobError::Snooze(delay))) => (
                Counter::Snoozed,
                self.retrying(|| store.job_snooze(fence, delay)).await,
            ),
            End::Returned(Err(JobError::Cancel(reason))) => (
                Counter::Cancelled,
                self.retrying(|| store.job_cancel_running(fence, &reason))
                    .await,
            ),
            End::Returned(Err(JobError::InDoubt(reason))) => {
                self.doubt(fence, reason, doubt_delay).await;
                return;
            }
            End::Panicked(message) => {
                let delay = self.config.backoff.delay(attempt);
                (
                    Counter::Retried,
                    self.fail(fence, format!("handler panicked: {message}"), delay, false)
                        .await,
                )
            }
            End::TimedOut(limit) => {
                let delay = self.config.backoff.delay(attempt);
                (
                    Counter::Retried,
                    self.fail(fence, format!("timed out after {limit:?}"), delay, false)
                        .await,
                )
            }
            End::CancelRequested => {
                self.stats.add(Counter::CancelRequestObeyed, 1);
                let reason = if at_most_once {
                    format!("cancelled by operator: attempt {attempt} was stopped; its effect may or may not have happened")
                } else {
                    format!("cancelled by operator: attempt {attempt} was stopped")
                };
                (
                    Counter::Cancelled,
                    self.retrying(|| store.job_cancel_running(fence, &reason))
                        .await,
                )
            }
            End::Shutdown => (
                Counter::Released,
                self.retrying(|| {
                    store.job_release(fence, "worker shut down before the attempt finished")
                })
                .await
                .map(|_| ()),
            ),
            End::LeaseLost(lost) => {
                tracing::warn!(%lost, "stopped the handler: lease lost");
                self.stats.add(Counter::LeaseLost, 1);
                return;
            }
            End::LeaseDeadline => {
                tracing::warn!(
                    job = fence.job_id,
                    "stopped the attempt before its lease could end: no heartbeat renewed it"
                );
                self.stats.add(Counter::StoppedAtDeadline, 1);
                // One quick try to hand the lease back (the database may be
                // answering again); otherwise the rescuer takes the job once
                // the lease has ended.
                let release = store.job_release(
                    fence,
                    "stopped before its lease could end: heartbeats were not answered",
                );
                if let Ok(Ok(state)) = tokio::time::timeout(self.config.lease / 10, release).await {
                    tracing::info!(job = fence.job_id, %state, "lease handed back");
                }
                return;
            }
        };
        match result {
            Ok(()) => self.stats.add(counter, 1),
            Err(Error::LeaseLost(lost)) => {
                tracing::warn!(%lost, "outcome not recorded");
                self.stats.add(Counter::LeaseLost, 1);
            }
            Err(error) => {
                tracing::error!(job = fence.job_id, %error, "outcome not recorded; the rescuer will take the job when its lease expires");
                self.stats.add(Counter::WriteFailed, 1);
            }
        }
    }

    /// Leaves the job in doubt (to be reconciled after `delay`, or decided).
    async fn doubt(&self, fence: Fence, reason: String, delay: Duration) {
        match self
            .retrying(|| self.store.job_doubt(fence, &reason, delay))
            .await
        {
            Ok(()) => {
                tracing::warn!(job = fence.job_id, %reason, "job in doubt");
                self.stats.add(Counter::InDoubt, 1);
            }
            Err(Error::LeaseLost(lost)) => {
                tracing::warn!(%lost, "in-doubt state not recorded");
                self.stats.add(Counter::LeaseLost, 1);
            }
            Err(error) => {
                tracing::error!(job = fence.job_id, %error, "in-doubt state not recorded; the rescuer will take the job when its lease expires");
                self.stats.add(Counter::WriteFailed, 1);
            }
        }
    }

    async fn fail(
        &self,
        fence: Fence,
        error: String,
        delay: Duration,
        rerun: bool,
    ) -> Result<(), Error> {
        let params = RetryParams {
            fence,
            error,
            delay,
            rerun,
        };
        let state = self.retrying(|| self.store.job_retry(&params)).await?;
        if state == JobState::Discarded {
            tracing::warn!(job = fence.job_id, "attempts used up; job discarded");
        }
        Ok(())
    }

    /// Retries a write on database errors (not on a lost lease) a few times.
    /// Once the hard stop of a shutdown has fired, the write gets
    /// [`SHUTDOWN_WRITE_SHARE`] of the lease more and is then abandoned, so
    /// a stalled database cannot hold a shutdown (each try could otherwise
    /// wait the pool's acquire timeout); the rescuer takes the job.
    async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let writes = async {
            let mut pause = Duration::from_millis(100);
            for _ in 0..5 {
                match write().await {
                    Err(Error::Database(error)) => {
                        tracing::warn!(%error, "write failed; retrying");
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                    other => return other,
                }
            }
            write().await
        };
        let last_chance = self.config.lease / SHUTDOWN_WRITE_SHARE;
        tokio::select! {
            result = writes => result,
            _ = async {
                self.hard_stop.cancelled().await;
                tokio::time::sleep(last_chance).await;
            } => Err(Error::ShutdownDeadline(last_chance)),
        }
    }
}

/// Waits for the heartbeat in flight; never resolves when there is none.
async fn in_flight(beat: &mut Option<Beat>) -> (Instant, Option<crate::Result<Heartbeat>>) {
    match beat {
        Some(beat) => beat.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Why the job must go in doubt although the handler did not say so: the
/// attempt of an at-most-once job (or a reconciliation) ended without saying
/// whether its effect happened. (A handler's own `JobError::InDoubt` is
/// recorded as it is.)
fn doubt_reason(end: &End, at_most_once: bool, reconciling: bool) -> Option<String> {
    let what = if reconciling {
        "the reconcile step"
    } else {
        "the attempt"
    };
    let unknown = "its effect may or may not have happened";
    match end {
        End::Returned(Err(JobError::Failed(error))) if at_most_once => Some(format!(
            "{error} (an at-most-once attempt that failed may have started its effect)"
        )),
        End::TimedOut(limit) if at_most_once || reconciling => Some(format!(
            "{what} timed out after {limit:?} and was stopped; {unknown}"
        )),
        End::Panicked(message) if at_most_once || reconciling => {
            Some(format!("{what} panicked ({message}); {unknown}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_goes_in_doubt() {
        let failed = End::Returned(Err(JobError::Failed("reset".into())));
        let timed_out = End::TimedOut(Duration::from_secs(1));
        let panicked = End::Panicked("boom".into());
        let retry = End::Returned(Err(JobError::retry("safe")));
        // Idempotent work: nothing implies a doubt.
        for end in [&failed, &timed_out, &panicked, &retry] {
            assert_eq!(doubt_reason(end, false, false), None, "{end:?}");
        }
        let said = End::Returned(Err(JobError::InDoubt("dropped".into())));
        assert_eq!(doubt_reason(&said, true, true), None, "already a doubt");
        // At-most-once work: anything that does not say "safe to retry".
        for end in [&failed, &timed_out, &panicked] {
            assert!(doubt_reason(end, true, false).is_some(), "{end:?}");
        }
        assert_eq!(doubt_reason(&retry, true, false), None);
        // A reconciliation cut short stays in doubt.
        let reason = doubt_reason(&timed_out, false, true).expect("in doubt");
        assert!(
            reason.starts_with("the reconcile step timed out"),
            "{reason}"
        );
    }
}
