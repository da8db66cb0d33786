//! The fetch loop of one queue, and its local buffer of jobs claimed ahead.
//!
//! Invariants: the number of jobs in flight never exceeds the queue's
//! concurrency. A claim may ask for more than the free slots (up to the
//! buffer's target, [`ClientConfig::prefetch`] at most): the jobs beyond them
//! wait in the buffer, in claim order, under the leases the claim granted,
//! and start as slots free. A held job that has not started within
//! [`ClientConfig::prefetch_hold`] is handed back with a fenced write that
//! does not count the attempt (and the target halves); at shutdown every held
//! job is handed back before the producer waits for the jobs in flight. While
//! it holds jobs, the producer reads the queue's pause state once per poll
//! interval and hands everything held back when an operator has paused it.
//! Jobs that must not wait in a buffer — at-most-once, reconcilable, a
//! reconciliation, a last attempt, or of a kind whose policy is not
//! idempotent — go to the front and start at the next free slot; so if the
//! process dies, what it held is only work that is safe to run again.
//!
//! How much a queue holds ahead adapts to how fast its slots start jobs: at
//! most eight times its concurrency, or — if more — as many as it started in
//! the last [`START_WINDOW`], and never more than [`ClientConfig::prefetch`].
//! So slow jobs are not hoarded (a held job would wait longer than a window
//! for a slot), and fast ones are claimed in batches of hundreds.
//!
//! Every wake-up is followed by a claim, and by a second one [`ECHO_AFTER`]
//! later (inserts are announced at most once per queue per window). Under
//! load, claims are batched: the producer claims once half its capacity
//! (slots plus buffer) is missing, or when a slot has waited [`COALESCE`]
//! with the buffer empty; an idle producer claims at once.
//!
//! Measured (PostgreSQL, 4 clients × 25, no-op jobs, 200k backlog): one job
//! per claim 8.6k jobs/s; claims batched to the free slots 11.8–13k; a
//! buffer of 200: 24–28k; up to 1,000 by the start rate: 37–43k. Once the
//! claim no longer hashed the whole table (2026-12-07), at 1,000,000 jobs:
//! up to 1,000: 35–41k, 2,000: 48k, 3,000: 51–53k; at 20,000, 2,000 as fast
//! as 1,000 and 3,000 slower (see `docs/benchmarks.md`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::ClientConfig;
use super::executor::{Executor, Outcome};
use super::stats::Counter;
use super::{EffectPolicy, Worker};
use crate::job::Job;
use crate::store::{ClaimParams, Fence, ReconcileClaim};

/// When a producer claims again after a wake-up (see the notifier of the
/// PostgreSQL driver).
const ECHO_AFTER: Duration =
    Duration::from_millis(2 * crate::store::postgres::NOTIFY_EVERY.as_millis() as u64);

/// How long a freed slot waits for others before the producer claims (when
/// nothing is held to start in it).
const COALESCE: Duration = Duration::from_millis(5);

/// The window over which a queue's start rate is counted: it may hold ahead
/// as many jobs as it started in the last one (see the module doc).
const START_WINDOW: Duration = Duration::from_millis(250);

/// A queue holds this many times its concurrency ahead whatever its start
/// rate (up to the configured prefetch).
const HOLD_PER_SLOT: u32 = 8;

/// Kinds run by this client, by name.
type Workers = Arc<std::collections::HashMap<String, Arc<dyn Worker>>>;

/// One queue's producer.
pub(crate) struct Producer {
    pub queue: String,
    pub concurrency: u32,
    pub workers: Workers,
    pub executor: Executor,
    pub wakeup: Arc<Notify>,
    /// Fires when shutdown starts: stop claiming.
    pub stop_fetching: CancellationToken,
}

/// A claimed job that has not started yet.
struct Held {
    job: Job,
    worker: Arc<dyn Worker>,
    /// When the claim that granted its lease was sent.
    asked: Instant,
}

/// The jobs claimed ahead, most urgent first then in claim order, and how
/// many the producer aims to hold.
struct Buffer {
    held: VecDeque<Held>,
    target: u32,
    max: u32,
    hold: Duration,
    /// No later than the oldest `asked` held (may be older: recomputed when
    /// it says a hold is over).
    oldest: Option<Instant>,
    /// Held without regard to the start rate (eight per slot).
    floor: u32,
    /// Jobs started in the current [`START_WINDOW`], since `window_from`,
    /// and in the one before it.
    starts: u32,
    starts_before: u32,
    window_from: Instant,
}

impl Buffer {
    fn new(max: u32, hold: Duration, concurrency: u32) -> Self {
        Buffer {
            held: VecDeque::new(),
            target: max,
            max,
            hold,
            oldest: None,
            floor: concurrency.saturating_mul(HOLD_PER_SLOT).min(max),
            starts: 0,
            starts_before: 0,
            window_from: Instant::now(),
        }
    }

    /// Moves the start windows on to `now`.
    fn roll(&mut self, now: Instant) {
        let since = now.saturating_duration_since(self.window_from);
        if since >= START_WINDOW {
            // A window with no look at the buffer started nothing.
            self.starts_before = if since >= 2 * START_WINDOW {
                0
            } else {
                self.starts
            };
            self.starts = 0;
            self.window_from = now;
        }
    }

    /// A held job started in a slot.
    fn started(&mut self, now: Instant) {
        self.roll(now);
        self.starts += 1;
    }

    /// How many to hold ahead now: the target, bounded by the start rate
    /// (never below the floor).
    fn ahead(&mut self, now: Instant) -> u32 {
        self.roll(now);
        let by_rate = self.starts_before.max(self.starts).max(self.floor);
        self.target.min(by_rate)
    }

    fn len(&self) -> u32 {
        self.held.len() as u32
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn push(&mut self, held: Held, front: bool) {
        self.oldest = Some(self.oldest.map_or(held.asked, |t| t.min(held.asked)));
        if front {
            self.held.push_front(held);
        } else {
            self.held.push_back(held);
        }
    }

    fn pop(&mut self) -> Option<Held> {
        let held = self.held.pop_front();
        if self.held.is_empty() {
            self.oldest = None;
        }
        held
    }

    /// Takes the held jobs whose hold is over (and halves the target if any).
    fn take_stale(&mut self, now: Instant) -> Vec<Held> {
        if self.next_stale().is_none_or(|at| now < at) {
            return Vec::new();
        }
        let hold = self.hold;
        let (stale, fresh): (Vec<Held>, Vec<Held>) = self
            .held
            .drain(..)
            .partition(|h| now.saturating_duration_since(h.asked) >= hold);
        self.held = fresh.into();
        self.oldest = self.held.iter().map(|h| h.asked).min();
        if !stale.is_empty() {
            self.target /= 2;
        }
        stale
    }

    /// A claim came back full: there is more work than was asked for.
    fn grow(&mut self) {
        self.target = self.target.saturating_mul(2).max(1).min(self.max);
    }

    /// When the oldest held job's hold ends.
    fn next_stale(&self) -> Option<Instant> {
        self.oldest.map(|t| t + self.hold)
    }
}

/// Whether a claimed job may wait in the buffer: only work that is safe to
/// run again if this process dies before handing it back.
fn may_wait(job: &Job, worker: &dyn Worker) -> bool {
    worker.policy() == EffectPolicy::Idempotent
        && !job.at_most_once
        && !job.reconcilable
        && !job.reconciling
        && job.attempt < job.max_attempts
        && job.cancel_requested_at.is_none()
}

impl Producer {
    /// Claims and runs jobs until `stop_fetching`, hands back what it holds,
    /// then waits for the jobs in flight (the executors hand leases back when
    /// the hard stop fires).
    pub(crate) async fn run(self) {
        // Attempts in the slots, and outcomes being written (not counted
        // against the concurrency: the handler has stopped).
        let mut running: JoinSet<Option<Outcome>> = JoinSet::new();
        let mut recording: JoinSet<()> = JoinSet::new();
        let kinds: Vec<String> = self.workers.keys().cloned().collect();
        let kinds_where = |keep: fn(&dyn Worker) -> bool| -> Vec<String> {
            self.workers
                .iter()
                .filter(|(_, w)| keep(w.as_ref()))
                .map(|(k, _)| k.clone())
                .collect()
        };
        // Kinds that can reconcile the in-doubt jobs flagged reconcilable...
        let reconciling_kinds = kinds_where(|w| w.has_reconcile_step());
        // ...and those whose policy reconciles every in-doubt job.
        let reconcile = ReconcileClaim {
            every_job_kinds: kinds_where(|w| w.policy() == EffectPolicy::Reconcilable),
            settle: self.executor.config.reconcile_after,
        };
        let config = self.executor.config.clone();
        let idempotent_kinds = kinds_where(|w| w.policy() == EffectPolicy::Idempotent);
        let prefetch = if idempotent_kinds.is_empty() {
            0
        } else {
            config.prefetch
        };
        let mut buffer = Buffer::new(prefetch, config.prefetch_hold(), self.concurrency);
        let mut failures = 0u32;
        // Set by a wake-up: claim once more when its echo is due.
        let mut echo: Option<Instant> = None;
        // When the oldest missing job not yet claimed for went missing.
        let mut freed_at: Option<Instant> = None;
        // When the queue's pause state was last read (while jobs are held).
        let mut pause_read = Instant::now();
        while !self.stop_fetching.is_cancelled() {
            // Start held jobs in the free slots; hand back those held too long,
            // and all of them once an operator has paused the queue (claims
            // already refuse a paused queue; this stops what was claimed ahead).
            let stale = buffer.take_stale(Instant::now());
            if !stale.is_empty() {
                self.hand_back(stale, &config).await;
            }
            if !buffer.is_empty() && pause_read.elapsed() >= config.poll_interval {
                pause_read = Instant::now();
                if self.paused().await {
                    let held: Vec<Held> = std::iter::from_fn(|| buffer.pop()).collect();
                    self.hand_back(held, &config).await;
                }
            }
            self.start_held(&mut running, &mut buffer);
            let capacity = self.concurrency + buffer.ahead(Instant::now());
            let holding = (running.len() + recording.len()) as u32 + buffer.len();
            let missing = capacity.saturating_sub(holding);
            let now = Instant::now();
            if missing == 0 {
                freed_at = None;
            } else if freed_at.is_none() {
                freed_at = Some(now);
            }
            let claim_now = missing > 0
                && (missing >= (capacity / 2).max(1)
                    || holding == 0
                    || failures > 0
                    || (buffer.is_empty() && freed_at.is_some_and(|t| now >= t + COALESCE)));
            let mut full_claim = false;
            if claim_now {
                freed_at = None;
                let free = self.concurrency.saturating_sub(running.len() as u32);
                match self
                    .claim(&kinds, &reconciling_kinds, &reconcile, missing, free)
                    .await
                {
                    Ok((jobs, asked)) => {
                        failures = 0;
                        full_claim = jobs.len() as u32 == missing;
                        if full_claim {
                            buffer.grow();
                        }
                        self.executor.stats.add(Counter::Claimed, jobs.len() as u64);
                        self.hold(jobs, asked, &mut buffer);
                        self.start_held(&mut running, &mut buffer);
                    }
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(queue = %self.queue, %error, "claim failed");
                    }
                }
            }
            if full_claim {
                continue;
            }
            let pause = if failures > 0 {
                (config.poll_interval * failures.min(10)).min(Duration::from_secs(30))
            } else {
                config.poll_interval
            };
            let next_stale = buffer.next_stale();
            let coalesce_due = freed_at
                .filter(|_| buffer.is_empty() && failures == 0)
                .map(|t| t + COALESCE);
            tokio::select! {
                _ = self.stop_fetching.cancelled() => break,
                _ = self.wakeup.notified() => {
                    // Inserts are announced at most once per queue per
                    // NOTIFY_EVERY: claim again after that window, for jobs
                    // inserted within it without an announcement of their own.
                    echo = Some(Instant::now() + ECHO_AFTER);
                }
                _ = sleep_until_opt(echo), if echo.is_some() => {
                    echo = None;
                }
                _ = tokio::time::sleep(pause) => {}
                // A missing job has waited long enough for others.
                _ = sleep_until_opt(coalesce_due), if coalesce_due.is_some() => {}
                // A held job's hold is over.
                _ = sleep_until_opt(next_stale), if next_stale.is_some() => {}
                Some(ended) = running.join_next(), if !running.is_empty() => {
                    record(&mut recording, ended);
                }
                Some(_) = recording.join_next(), if !recording.is_empty() => {}
            }
            // Collect every other attempt that has stopped meanwhile.
            while let Some(ended) = running.try_join_next() {
                record(&mut recording, ended);
            }
            while recording.try_join_next().is_some() {}
        }
        let held: Vec<Held> = std::iter::from_fn(|| buffer.pop()).collect();
        if !held.is_empty() {
            self.hand_back(held, &config).await;
        }
        while let Some(ended) = running.join_next().await {
            record(&mut recording, ended);
        }
        while recording.join_next().await.is_some() {}
    }

    /// One claim of up to `limit` jobs (and, if that found fewer than the
    /// `free` slots, in-doubt jobs to reconcile in the rest), with the
    /// instant the claim was sent (leases are counted from it).
    async fn claim(
        &self,
        kinds: &[String],
        reconciling_kinds: &[String],
        reconcile: &ReconcileClaim,
        limit: u32,
        free: u32,
    ) -> crate::Result<(Vec<Job>, Instant)> {
        let config = &self.executor.config;
        let params = ClaimParams {
            queue: self.queue.clone(),
            kinds: kinds.to_vec(),
            limit,
            lease: config.lease,
            worker_id: config.worker_id.clone(),
        };
        let called = Instant::now();
        let store = &self.executor.store;
        let (mut jobs, sent) = store.job_claim_sent(&params).await?;
        // Leases count from when the claim was sent, not from when this
        // asked for a connection to send it on.
        let asked = Instant::from_std(sent).max(called);
        if let Some(observer) = self.executor.stats.observer() {
            observer.claimed(&self.queue, jobs.len(), called.elapsed());
        }
        let left = free.saturating_sub(jobs.len() as u32);
        if left > 0 && !reconciling_kinds.is_empty() {
            let doubts = ClaimParams {
                kinds: reconciling_kinds.to_vec(),
                limit: left,
                ..params
            };
            match store.job_claim_in_doubt(&doubts, reconcile).await {
                Ok(more) => jobs.extend(more),
                Err(error) => {
                    tracing::warn!(queue = %self.queue, %error, "claiming in-doubt jobs failed")
                }
            }
        }
        Ok((jobs, asked))
    }

    /// Puts claimed jobs in the buffer, in the queue's order: those that must
    /// not wait go to the front.
    fn hold(&self, mut jobs: Vec<Job>, asked: Instant, buffer: &mut Buffer) {
        jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
        let mut urgent = Vec::new();
        for job in jobs {
            let Some(worker) = self.workers.get(&job.kind).cloned() else {
                tracing::error!(job = job.id, kind = %job.kind, "claimed a job of an unregistered kind");
                continue;
            };
            let held = Held { job, worker, asked };
            if may_wait(&held.job, held.worker.as_ref()) {
                buffer.push(held, false);
            } else {
                urgent.push(held);
            }
        }
        for held in urgent.into_iter().rev() {
            buffer.push(held, true);
        }
    }

    /// Starts held jobs in the free slots.
    fn start_held(&self, running: &mut JoinSet<Option<Outcome>>, buffer: &mut Buffer) {
        let now = Instant::now();
        while running.len() < self.concurrency as usize {
            let Some(h) = buffer.pop() else {
                break;
            };
            buffer.started(now);
            running.spawn(self.executor.clone().attempt(h.worker, h.job, h.asked));
        }
    }

    /// Whether an operator has paused this queue (false when it cannot be read:
    /// claims check the pause themselves).
    async fn paused(&self) -> bool {
        match self.executor.store.queue_states().await {
            Ok(states) => states.iter().any(|q| q.name == self.queue && q.paused()),
            Err(error) => {
                tracing::debug!(queue = %self.queue, %error, "could not read the queue's pause state");
                false
            }
        }
    }

    /// Hands back jobs that never started (one fenced statement); if that
    /// fails, the rescuer takes them once their leases end.
    async fn hand_back(&self, held: Vec<Held>, config: &ClientConfig) {
        let fences: Vec<Fence> = held.iter().map(|h| Fence::of(&h.job)).collect();
        let store = &self.executor.store;
        match tokio::time::timeout(config.lease / 4, store.job_unclaim_many(&fences)).await {
            Ok(Ok(ids)) => {
                tracing::debug!(queue = %self.queue, jobs = ids.len(), "handed back jobs held too long or at shutdown");
                self.executor
                    .stats
                    .add(Counter::HandedBack, ids.len() as u64);
            }
            Ok(Err(error)) => {
                tracing::warn!(queue = %self.queue, %error, jobs = fences.len(), "could not hand back held jobs; the rescuer will take them when their leases end")
            }
            Err(_) => {
                tracing::warn!(queue = %self.queue, jobs = fences.len(), "handing back held jobs timed out; the rescuer will take them when their leases end")
            }
        }
    }
}

/// Writes the outcome of an attempt that stopped (its slot is free now).
fn record(recording: &mut JoinSet<()>, ended: Result<Option<Outcome>, tokio::task::JoinError>) {
    match ended {
        Ok(Some(outcome)) => {
            recording.spawn(outcome.record());
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "an attempt's task failed"),
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_queue_holds_eight_per_slot_and_a_fast_one_what_it_started() {
        let t0 = Instant::now();
        let mut b = Buffer::new(1000, Duration::from_secs(10), 4);
        // Nothing measured yet: eight per slot.
        assert_eq!(b.ahead(t0), 32);
        // A slow window (10 starts): still the floor.
        for _ in 0..10 {
            b.started(t0 + Duration::from_millis(10));
        }
        assert_eq!(b.ahead(t0 + START_WINDOW + Duration::from_millis(1)), 32);
        // A fast window (600 starts) raises it in the next one...
        let w2 = t0 + START_WINDOW + Duration::from_millis(2);
        for _ in 0..600 {
            b.started(w2);
        }
        assert_eq!(b.ahead(w2), 600);
        assert_eq!(b.ahead(w2 + START_WINDOW), 600);
        // ...never past the configured most...
        for _ in 0..5000 {
            b.started(w2 + START_WINDOW);
        }
        assert_eq!(b.ahead(w2 + START_WINDOW), 1000);
        // ...and falls back after a quiet spell.
        assert_eq!(b.ahead(w2 + 4 * START_WINDOW), 32);
    }

    #[test]
    fn the_floor_never_exceeds_the_configured_most() {
        let mut b = Buffer::new(5, Duration::from_secs(10), 4);
        assert_eq!(b.ahead(Instant::now()), 5);
    }
}
