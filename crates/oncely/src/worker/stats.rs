//! Counters of what a client's executors did, for tests, logs and metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by the executors of one client, and the client's
/// [`super::Observer`] if it has one.
#[derive(Debug, Default)]
pub struct Stats {
    observer: Option<std::sync::Arc<dyn super::Observer>>,
    rescued: AtomicU64,
    claimed: AtomicU64,
    completed: AtomicU64,
    retried: AtomicU64,
    discarded: AtomicU64,
    snoozed: AtomicU64,
    cancelled: AtomicU64,
    released: AtomicU64,
    lease_lost: AtomicU64,
    write_failed: AtomicU64,
    in_doubt: AtomicU64,
    reconciled: AtomicU64,
    policy_raised: AtomicU64,
    stopped_at_deadline: AtomicU64,
    cancel_requests_obeyed: AtomicU64,
    maintenance_failures: AtomicU64,
    handed_back: AtomicU64,
}

/// A copy of [`Stats`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Jobs claimed (a job claimed ahead, handed back and claimed again
    /// counts each time; see `handed_back`).
    pub claimed: u64,
    /// Attempts that completed their job.
    pub completed: u64,
    /// Attempts that failed and were recorded for retry (or discarded when out of attempts).
    pub retried: u64,
    /// Attempts whose handler discarded the job.
    pub discarded: u64,
    /// Attempts that snoozed.
    pub snoozed: u64,
    /// Attempts whose handler cancelled the job.
    pub cancelled: u64,
    /// Leases handed back at shutdown.
    pub released: u64,
    /// Fenced writes rejected because the lease was lost.
    pub lease_lost: u64,
    /// Final writes abandoned after repeated database errors (the rescuer takes over).
    pub write_failed: u64,
    /// Attempts that left their job in doubt.
    pub in_doubt: u64,
    /// In-doubt jobs whose reconcile step settled them (done or not done).
    pub reconciled: u64,
    /// Claimed jobs stored with a weaker effect policy than this client's
    /// worker for their kind declares, made stricter before their handler ran
    /// (a mismatch between whoever inserted them and this process).
    pub policy_raised: u64,
    /// Attempts stopped by the executor because their lease could end before
    /// a heartbeat renewed it (e.g. the database stopped answering).
    pub stopped_at_deadline: u64,
    /// Attempts stopped because an operator cancelled their job.
    pub cancel_requests_obeyed: u64,
    /// Passes of a maintenance service (election, rescuer, periodic
    /// enqueuer, pruner) that failed or panicked; each is logged with the
    /// service's name and retried with backoff.
    pub maintenance_failures: u64,
    /// Jobs claimed ahead into the local buffer and handed back without
    /// starting (held too long, or held at shutdown); not counted as attempts.
    pub handed_back: u64,
    /// Expired leases this client's rescuer (while leading) moved on:
    /// retryable, discarded or in doubt.
    pub rescued: u64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Claimed,
    Completed,
    Retried,
    Discarded,
    Snoozed,
    Cancelled,
    Released,
    LeaseLost,
    WriteFailed,
    InDoubt,
    Reconciled,
    PolicyRaised,
    StoppedAtDeadline,
    CancelRequestObeyed,
    MaintenanceFailure,
    HandedBack,
    Rescued,
}

impl Stats {
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        let cell = match counter {
            Counter::Claimed => &self.claimed,
            Counter::Completed => &self.completed,
            Counter::Retried => &self.retried,
            Counter::Discarded => &self.discarded,
            Counter::Snoozed => &self.snoozed,
            Counter::Cancelled => &self.cancelled,
            Counter::Released => &self.released,
            Counter::LeaseLost => &self.lease_lost,
            Counter::WriteFailed => &self.write_failed,
            Counter::InDoubt => &self.in_doubt,
            Counter::Reconciled => &self.reconciled,
            Counter::PolicyRaised => &self.policy_raised,
            Counter::StoppedAtDeadline => &self.stopped_at_deadline,
            Counter::CancelRequestObeyed => &self.cancel_requests_obeyed,
            Counter::MaintenanceFailure => &self.maintenance_failures,
            Counter::HandedBack => &self.handed_back,
            Counter::Rescued => &self.rescued,
        };
        cell.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            claimed: get(&self.claimed),
            completed: get(&self.completed),
            retried: get(&self.retried),
            discarded: get(&self.discarded),
            snoozed: get(&self.snoozed),
            cancelled: get(&self.cancelled),
            released: get(&self.released),
            lease_lost: get(&self.lease_lost),
            write_failed: get(&self.write_failed),
            in_doubt: get(&self.in_doubt),
            reconciled: get(&self.reconciled),
            policy_raised: get(&self.policy_raised),
            stopped_at_deadline: get(&self.stopped_at_deadline),
            cancel_requests_obeyed: get(&self.cancel_requests_obeyed),
            maintenance_failures: get(&self.maintenance_failures),
            handed_back: get(&self.handed_back),
            rescued: get(&self.rescued),
        }
    }

    /// Counters that report timings to `observer`.
    pub(crate) fn with_observer(observer: Option<std::sync::Arc<dyn super::Observer>>) -> Self {
        Stats {
            observer,
            ..Stats::default()
        }
    }

    /// The client's observer, if any.
    pub(crate) fn observer(&self) -> Option<&dyn super::Observer> {
        self.observer.as_deref()
    }
}
