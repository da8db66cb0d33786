//! The maintenance loop every client runs: it takes part in the election and,
//! while it leads, runs the rescuer, the periodic enqueuer and the pruner on
//! their intervals. On shutdown a leader resigns so another takes over at once.
//!
//! Invariants: every pass of every service (the election included) is
//! supervised — an error or a panic is caught, logged with the service's
//! name, counted ([`crate::worker::StatsSnapshot::maintenance_failures`]) and
//! the service is tried again after a backoff, so no pass can stop the loop
//! or the other services; a leader one of whose services failed
//! [`RESIGN_AFTER`] passes in a row resigns and stays out of the election for
//! a leadership lease, so another server (perhaps without the fault) leads.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::leader::Elector;
use super::periodic::{is_leadership_lost, PeriodicEnqueuer};
use super::pruner::Pruner;
use super::rescuer::Rescuer;
use crate::error::Error;
use crate::schedule::Schedule;
use crate::store::{LeaderTerm, Store};
use crate::worker::{Counter, Stats};

/// Consecutive failed passes of one service after which a leader resigns.
pub const RESIGN_AFTER: u32 = 5;

/// Longest pause before a failing service is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Everything the loop runs.
pub(crate) struct Maintainer {
    pub store: Store,
    pub elector: Elector,
    pub rescuer: Rescuer,
    pub periodic: PeriodicEnqueuer,
    pub pruner: Pruner,
    /// Schedules registered in code, stored at start.
    pub schedules: Vec<Schedule>,
    /// Fires when the leader resigns (PostgreSQL notification).
    pub leader_resigned: Arc<Notify>,
    /// Wakes this client's producers when a period's job lands in their queue.
    pub wakeups: Arc<crate::worker::wakeups::Wakeups>,
    /// Counts failed passes.
    pub stats: Arc<Stats>,
}

/// How one pass of a service went wrong.
enum PassError {
    Failed(Error),
    Panicked(String),
}

impl std::fmt::Display for PassError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassError::Failed(e) => write!(f, "{e}"),
            PassError::Panicked(m) => write!(f, "panicked: {m}"),
        }
    }
}

/// When a service runs next, and how many of its passes failed in a row.
struct Health {
    name: &'static str,
    interval: Duration,
    max_backoff: Duration,
    next: Instant,
    failures: u32,
}

impl Health {
    fn new(name: &'static str, interval: Duration, now: Instant) -> Self {
        Health {
            name,
            interval,
            max_backoff: MAX_BACKOFF.max(interval),
            next: now,
            failures: 0,
        }
    }

    fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    fn succeeded(&mut self, now: Instant) {
        if self.failures > 0 {
            tracing::info!(service = self.name, "maintenance service recovered");
        }
        self.failures = 0;
        self.next = now + self.interval;
    }

    /// Records a failure; the next try waits interval × 2^failures, at most
    /// `max_backoff` (a minute, or the interval if longer).
    fn failed(&mut self, now: Instant, error: &PassError, stats: &Stats) {
        self.failures = self.failures.saturating_add(1);
        let backoff = self
            .interval
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.max_backoff);
        self.next = now + backoff;
        stats.add(Counter::MaintenanceFailure, 1);
        tracing::error!(
            service = self.name,
            failures = self.failures,
            retry_in = ?backoff,
            %error,
            "maintenance pass failed"
        );
    }
}

/// Runs one pass, turning a panic into an error instead of ending the loop.
/// Runs one pass of `service` in its own span, catching errors and panics.
async fn supervised_as<T>(
    service: &'static str,
    pass: impl Future<Output = crate::Result<T>>,
) -> Result<T, PassError> {
    let span = tracing::info_span!("maintenance", service);
    match AssertUnwindSafe(pass.instrument(span)).catch_unwind().await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(PassError::Failed(error)),
        Err(payload) => Err(PassError::Panicked(crate::error::panic_message(
            payload.as_ref(),
        ))),
    }
}

fn leadership_lost(error: &PassError) -> bool {
    matches!(error, PassError::Failed(e) if is_leadership_lost(e))
}

impl Maintainer {
    pub(crate) async fn run(self, stop: CancellationToken) {
        self.store_schedules(&stop).await;
        let mut term: Option<LeaderTerm> = None;
        let now = Instant::now();
        let mut election = Health::new(
            "leader election",
            self.elector.config().attempt_every(),
            now,
        );
        // A failing election is retried well within a leadership lease.
        election.max_backoff = self.elector.config().ttl / 3;
        let mut rescue = Health::new("rescuer", self.rescuer.config().interval, now);
        let mut periodic = Health::new("periodic enqueuer", self.periodic.config().interval, now);
        let mut prune = Health::new("pruner", self.pruner.config().interval, now);
        // After resigning for failures, stay out of the election until then.
        let mut sit_out_until: Option<Instant> = None;
        while !stop.is_cancelled() {
            let now = Instant::now();
            let sitting_out = sit_out_until.is_some_and(|until| now < until);
            if !sitting_out && election.due(now) {
                match supervised_as("election", self.elector.run_once()).await {
                    Ok(elected) => {
                        election.succeeded(now);
                        self.log_change(&term, &elected);
                        term = elected;
                    }
                    Err(error) => election.failed(now, &error, &self.stats),
                }
            }
            if let Some(t) = term.clone() {
                if rescue.due(now) {
                    match supervised_as("rescuer", self.rescuer.run_once()).await {
                        Ok(r) => {
                            rescue.succeeded(now);
                            self.stats.add(Counter::Rescued, r.total());
                            if r.total() > 0 {
                                tracing::info!(report = ?r, "rescued jobs with expired leases");
                            }
                        }
                        Err(error) => rescue.failed(now, &error, &self.stats),
                    }
                }
                if periodic.due(now) {
                    match supervised_as("periodic", self.periodic.run_once(&t)).await {
                        Ok(report) => {
                            periodic.succeeded(now);
                            for queue in &report.queues {
                                self.wakeups.wake(queue);
                            }
                        }
                        Err(e) if leadership_lost(&e) => {
                            tracing::warn!(error = %e, "periodic writes refused: not the leader any more");
                            periodic.succeeded(now);
                            term = None;
                        }
                        Err(error) => periodic.failed(now, &error, &self.stats),
                    }
                }
                if term.is_some() && prune.due(now) {
                    match supervised_as("pruner", self.pruner.run_once(&t)).await {
                        Ok(r) => {
                            prune.succeeded(now);
                            if r.jobs + r.firings > 0 {
                                tracing::info!(report = ?r, "pruned");
                            }
                        }
                        Err(e) if leadership_lost(&e) => {
                            prune.succeeded(now);
                            term = None;
                        }
                        Err(error) => prune.failed(now, &error, &self.stats),
                    }
                }
                let worst = [&rescue, &periodic, &prune]
                    .into_iter()
                    .max_by_key(|h| h.failures)
                    .filter(|h| h.failures >= RESIGN_AFTER);
                if let (Some(failing), Some(t)) = (worst, term.clone()) {
                    tracing::error!(
                        service = failing.name,
                        failures = failing.failures,
                        "resigning leadership: a maintenance service keeps failing"
                    );
                    self.resign(&t).await;
                    term = None;
                    sit_out_until = Some(Instant::now() + self.elector.config().ttl);
                    for h in [&mut rescue, &mut periodic, &mut prune] {
                        h.failures = 0;
                    }
                }
            }
            let wait = match &term {
                Some(_) => [&election, &rescue, &periodic, &prune]
                    .iter()
                    .map(|h| h.next)
                    .min()
                    .unwrap_or(now)
                    .saturating_duration_since(Instant::now()),
                None => match sit_out_until {
                    Some(until) if Instant::now() < until => {
                        until.saturating_duration_since(Instant::now())
                    }
                    _ => election.next.saturating_duration_since(Instant::now()),
                },
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.leader_resigned.notified(), if term.is_none() => {
                    election.next = Instant::now();
                }
            }
        }
        if let Some(t) = term {
            self.resign(&t).await;
        }
    }

    fn log_change(&self, before: &Option<LeaderTerm>, after: &Option<LeaderTerm>) {
        if after.as_ref().map(|t| t.term) == before.as_ref().map(|t| t.term) {
            return;
        }
        match after {
            Some(t) => tracing::info!(leader = %t.leader_id, term = t.term, "became leader"),
            None if before.is_some() => tracing::warn!("lost leadership"),
            None => {}
        }
    }

    async fn resign(&self, term: &LeaderTerm) {
        match supervised_as("election", self.elector.resign(term)).await {
            Ok(true) => tracing::info!(term = term.term, "resigned leadership"),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "could not resign leadership"),
        }
    }

    /// Stores the schedules registered in code, retrying until it works or `stop`.
    async fn store_schedules(&self, stop: &CancellationToken) {
        for schedule in &self.schedules {
            loop {
                match self.store.schedule_upsert(schedule).await {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(schedule = %schedule.name, %error, "cannot store schedule; retrying");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_or_failing_pass_becomes_an_error() {
        let panicked = supervised_as("test", async {
            let slots: Vec<u32> = Vec::new();
            // An out-of-bounds index, as a bug in a service would.
            Ok::<u32, Error>(slots[std::hint::black_box(3)])
        })
        .await;
        match panicked {
            Err(PassError::Panicked(message)) => {
                assert!(message.contains("index out of bounds"), "{message}")
            }
            _ => panic!("the panic was not caught"),
        }
        let failed = supervised_as("test", async { Err::<(), Error>(Error::NotFound(7)) }).await;
        assert!(matches!(failed, Err(PassError::Failed(Error::NotFound(7)))));
        assert!(matches!(
            supervised_as("test", async { Ok::<_, Error>(5) }).await,
            Ok(5)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn failing_services_back_off_and_recover() {
        let stats = Stats::default();
        let now = Instant::now();
        let mut h = Health::new("rescuer", Duration::from_secs(5), now);
        let error = PassError::Panicked("boom".into());
        h.failed(now, &error, &stats);
        assert_eq!(h.next - now, Duration::from_secs(10));
        h.failed(now, &error, &stats);
        assert_eq!(h.next - now, Duration::from_secs(20));
        for _ in 0..10 {
            h.failed(now, &error, &stats);
        }
        assert_eq!(h.next - now, MAX_BACKOFF, "capped");
        assert_eq!(h.failures, 12);
        assert_eq!(stats.snapshot().maintenance_failures, 12);
        h.succeeded(now);
        assert_eq!((h.failures, h.next - now), (0, Duration::from_secs(5)));
    }
}
