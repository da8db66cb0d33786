//! [`ClientConfig`]: timings of a worker client, with documented defaults.

use std::time::Duration;

use super::Backoff;
use crate::error::ValidationError;

/// Settings of a [`super::Client`]. `Default` gives production values.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Recorded as `locked_by` on claimed jobs. Default: `host-pid-random`.
    pub worker_id: String,
    /// Lease length from the database clock. Default 30 s.
    pub lease: Duration,
    /// Heartbeat period; must be shorter than the lease. Default lease / 3.
    pub heartbeat_every: Duration,
    /// Poll period, the fallback when notifications are missed or absent. Default 1 s.
    pub poll_interval: Duration,
    /// How long running jobs may finish after shutdown starts before they are
    /// cancelled and their leases handed back. Default 30 s.
    pub shutdown_grace: Duration,
    /// Period of the rescuer of expired leases (run by the leader). Default 5 s.
    pub rescue_every: Duration,
    /// Take part in leader election and, when leading, run the maintenance
    /// services (rescuer, periodic enqueuer, pruner). Default true.
    pub maintenance: bool,
    /// Leadership lease. Default 15 s.
    pub leader: crate::maintenance::leader::ElectorConfig,
    /// Periodic enqueuer settings.
    pub periodic: crate::maintenance::periodic::PeriodicConfig,
    /// Pruner settings.
    pub pruner: crate::maintenance::pruner::PrunerConfig,
    /// Backoff between failed attempts. Default 1 s doubling to 1 h.
    pub backoff: Backoff,
    /// How long an in-doubt job waits before it is first reconciled (and
    /// again after a reconciliation that could not tell, on top of the
    /// backoff), so that a request of the uncertain attempt still in flight
    /// at the outside system lands before anyone asks whether it happened.
    /// Make it longer than your effect calls' timeout plus the time the
    /// outside system may still take to act on a request its caller gave up
    /// on. Default: the lease (30 s); [`ClientConfig::with_lease`] sets it
    /// to the new lease.
    pub reconcile_after: Duration,
    /// Most completions written in one statement by the completer (a batch
    /// is what queued up while the previous one was written; 1 writes each on
    /// its own). Default 500.
    pub completion_batch: usize,
    /// Most jobs a queue claims ahead of its free slots, held in a local
    /// buffer under their leases until a slot frees, so that one claim serves
    /// many jobs (graphile-worker's "local queue"). A held job that has not
    /// started within [`ClientConfig::prefetch_hold`] is handed back (not
    /// counted as an attempt), and so is every held job at shutdown; the
    /// buffer shrinks when that happens and grows again while claims come
    /// back full. A queue holds at most eight times its concurrency, or as
    /// many as its slots started in the last quarter second if that is more
    /// (fast jobs are claimed in big batches, slow ones are not hoarded), and
    /// only queues with at least one kind whose policy is idempotent claim
    /// ahead. 0 turns it off. Default 2,000 (1,000 until 2026-12-07: at
    /// 1,000,000 queued jobs 2,000 drains 17–38 % faster, at 20,000 the same;
    /// see `docs/benchmarks.md`).
    pub prefetch: u32,
    /// Time limit of an attempt when the job has none. Default: none.
    pub default_timeout: Option<Duration>,
    /// When an attempt must stop (lease lost, job cancelled, time limit,
    /// shutdown deadline), how long its handler may take to return after
    /// [`super::JobContext::cancelled`] fires before it is aborted, capped by
    /// [`ClientConfig::deadline_grace`]. Default 1 s.
    pub cancel_grace: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let lease = Duration::from_secs(30);
        ClientConfig {
            worker_id: default_worker_id(),
            lease,
            heartbeat_every: lease / 3,
            poll_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            rescue_every: Duration::from_secs(5),
            maintenance: true,
            leader: Default::default(),
            periodic: Default::default(),
            pruner: Default::default(),
            backoff: Backoff::default(),
            reconcile_after: lease,
            completion_batch: 500,
            prefetch: 2000,
            default_timeout: None,
            cancel_grace: Duration::from_secs(1),
        }
    }
}

impl ClientConfig {
    /// How long a stopped attempt (lease deadline, cancel, time limit,
    /// shutdown deadline) may take to return after
    /// [`super::JobContext::cancelled`] fires before it is aborted: the
    /// cancel grace, at most a quarter of the lease (and never past a tenth
    /// of the lease before the lease could end, as heartbeats have stopped).
    pub fn deadline_grace(&self) -> Duration {
        self.cancel_grace.min(self.lease / 4)
    }

    /// How long before its lease could end (by the local monotonic clock,
    /// counted from before the claim or last successful heartbeat was sent)
    /// an attempt is stopped when no heartbeat renewed it: the deadline grace
    /// plus a tenth of the lease for the abort itself (a `command` program is
    /// killed then). So the attempt has stopped acting before the database
    /// can hand the job to another worker.
    pub fn stop_margin(&self) -> Duration {
        self.deadline_grace() + self.lease / 10
    }

    /// How long a job claimed ahead may wait in the local buffer before it is
    /// handed back: one heartbeat period. Its lease is counted from the claim,
    /// and its first heartbeat is due a period after the claim (at once, if
    /// it waited that long), so it starts with at least the lease a
    /// heartbeat leaves.
    pub fn prefetch_hold(&self) -> Duration {
        self.heartbeat_every
    }

    /// Sets the lease, a heartbeat of a third of it, and `reconcile_after`
    /// to the lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self.heartbeat_every = lease / 3;
        self.reconcile_after = lease;
        self
    }

    /// Checks that the timings make sense together.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (name, value) in [
            ("lease", self.lease),
            ("heartbeat_every", self.heartbeat_every),
            ("poll_interval", self.poll_interval),
            ("rescue_every", self.rescue_every),
            ("backoff.base", self.backoff.base),
        ] {
            if value.is_zero() {
                return Err(ValidationError::NonPositive(name));
            }
        }
        self.leader.validate()?;
        self.pruner.validate()?;
        if self.periodic.interval.is_zero() {
            return Err(ValidationError::NonPositive("periodic interval"));
        }
        if self.heartbeat_every + self.stop_margin() >= self.lease {
            return Err(ValidationError::Args(format!(
                "heartbeat_every ({:?}) must leave room in the lease ({:?}) for the stop margin ({:?}: an attempt \
                 without a renewed lease is stopped that long before it could end)",
                self.heartbeat_every,
                self.lease,
                self.stop_margin()
            )));
        }
        if self.worker_id.is_empty() {
            return Err(ValidationError::Args("worker_id must not be empty".into()));
        }
        Ok(())
    }
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_timings_are_not() {
        assert!(ClientConfig::default().validate().is_ok());
        let mut c = ClientConfig::default();
        c.heartbeat_every = c.lease;
        assert!(c.validate().is_err());
        let c = ClientConfig::default().with_lease(Duration::ZERO);
        assert!(c.validate().is_err());
    }
}
