//! [`LeaseClock`]: until when an attempt can trust its lease, by the local
//! monotonic clock.
//!
//! The database decides who holds a lease; this clock is the attempt's own
//! conservative view of it, so a handler can check right before an effect on
//! an outside system that it has not been paused (GC, SIGSTOP, a frozen VM)
//! past its lease while another worker took the job. The monotonic clock keeps
//! running while a process is stopped, so a woken zombie sees its lease gone.
//!
//! Invariant: the deadline is always counted from an instant *before* the
//! database granted or renewed the lease (the claim or heartbeat was sent
//! then), so it never ends later than the lease in the database (clock rates
//! aside); it only moves forward.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The shared deadline of one attempt's lease.
#[derive(Debug, Clone)]
pub(crate) struct LeaseClock {
    deadline: Arc<Mutex<Instant>>,
    lease: Duration,
}

impl LeaseClock {
    /// A lease of length `lease` granted by a request sent at `asked`.
    pub(crate) fn new(asked: Instant, lease: Duration) -> Self {
        LeaseClock {
            deadline: Arc::new(Mutex::new(asked + lease)),
            lease,
        }
    }

    /// A renewal requested at `asked` succeeded.
    pub(crate) fn renewed(&self, asked: Instant) {
        let mut deadline = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        *deadline = (*deadline).max(asked + self.lease);
    }

    /// When the lease may end.
    pub(crate) fn deadline(&self) -> Instant {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time left before the lease may end (zero once it may have).
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline().saturating_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_down_and_moves_forward_only() {
        let asked = Instant::now();
        let clock = LeaseClock::new(asked, Duration::from_secs(3));
        assert_eq!(clock.remaining(), Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(clock.remaining(), Duration::from_secs(1));
        clock.renewed(Instant::now());
        assert_eq!(clock.remaining(), Duration::from_secs(3));
        // A late answer to an older heartbeat does not move it back.
        clock.renewed(asked);
        assert_eq!(clock.remaining(), Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(clock.remaining(), Duration::ZERO);
    }
}
