//! The dice of injected faults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// What the dice decided for one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 503 without charging.
    Unavailable,
    /// Answer 402 without charging.
    Decline,
    /// Charge, then close the connection without answering.
    DropAfterCommit,
    /// Behave.
    None,
}

/// Fault rates and their random source.
pub struct Faults {
    fail: f64,
    decline: f64,
    drop: f64,
    spike: f64,
    spike_len: std::time::Duration,
    rng: Mutex<fastrand::Rng>,
    injected: Injected,
}

/// How many faults were injected so far, by kind (so a run can show its
/// faults really happened).
#[derive(Debug, Default)]
struct Injected {
    unavailable: AtomicU64,
    declined: AtomicU64,
    dropped_after_commit: AtomicU64,
    latency_spikes: AtomicU64,
}

/// Counts of injected faults, as `/v1/stats` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InjectedCounts {
    /// 503 answers without a charge.
    pub unavailable: u64,
    /// 402 answers without a charge.
    pub declined: u64,
    /// Charges recorded, then the connection closed without an answer.
    pub dropped_after_commit: u64,
    /// Charges delayed by a latency spike.
    pub latency_spikes: u64,
}

impl Faults {
    /// Checks that each rate is in 0..=1.
    pub fn new(fail: f64, decline: f64, drop: f64, seed: Option<u64>) -> Result<Self, String> {
        for (name, rate) in [
            ("--fail-rate", fail),
            ("--decline-rate", decline),
            ("--drop-after-commit-rate", drop),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} {rate} must be between 0 and 1"));
            }
        }
        let rng = seed.map(fastrand::Rng::with_seed).unwrap_or_default();
        Ok(Faults {
            fail,
            decline,
            drop,
            spike: 0.0,
            spike_len: std::time::Duration::ZERO,
            rng: Mutex::new(rng),
            injected: Injected::default(),
        })
    }

    /// Adds latency spikes: a share of charges delayed by `len`.
    pub fn with_spikes(mut self, rate: f64, len: std::time::Duration) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("--spike-rate {rate} must be between 0 and 1"));
        }
        self.spike = rate;
        self.spike_len = len;
        Ok(self)
    }

    /// Extra latency for one charge (zero unless a spike is rolled).
    pub fn spike(&self) -> std::time::Duration {
        if self.spike > 0.0 && self.roll2().0 < self.spike {
            self.injected.latency_spikes.fetch_add(1, Ordering::Relaxed);
            self.spike_len
        } else {
            std::time::Duration::ZERO
        }
    }

    /// Rolls the dice for one charge (before it is recorded).
    pub fn before_charge(&self) -> Fault {
        let (a, b) = self.roll2();
        if a < self.fail {
            self.injected.unavailable.fetch_add(1, Ordering::Relaxed);
            Fault::Unavailable
        } else if b < self.decline {
            self.injected.declined.fetch_add(1, Ordering::Relaxed);
            Fault::Decline
        } else {
            Fault::None
        }
    }

    /// Rolls the dice for a recorded charge.
    pub fn after_charge(&self) -> Fault {
        if self.roll2().0 < self.drop {
            self.injected
                .dropped_after_commit
                .fetch_add(1, Ordering::Relaxed);
            Fault::DropAfterCommit
        } else {
            Fault::None
        }
    }

    /// The faults injected so far.
    pub fn injected(&self) -> InjectedCounts {
        let i = &self.injected;
        InjectedCounts {
            unavailable: i.unavailable.load(Ordering::Relaxed),
            declined: i.declined.load(Ordering::Relaxed),
            dropped_after_commit: i.dropped_after_commit.load(Ordering::Relaxed),
            latency_spikes: i.latency_spikes.load(Ordering::Relaxed),
        }
    }

    fn roll2(&self) -> (f64, f64) {
        match self.rng.lock() {
            Ok(mut rng) => (rng.f64(), rng.f64()),
            Err(poisoned) => {
                let mut rng = poisoned.into_inner();
                (rng.f64(), rng.f64())
            }
        }
    }
}
