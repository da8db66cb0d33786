//! Exponential backoff with jitter between failed attempts.

use std::time::Duration;

/// How long to wait before attempt `n + 1` after attempt `n` failed:
/// `base * 2^(n-1)`, capped at `max`, then a random point in its upper half
/// (so that jobs that failed together do not retry together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure, before jitter.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The delay after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(40);
        let full = self
            .base
            .checked_mul(1u32 << exponent.min(31))
            .unwrap_or(self.max)
            .min(self.max);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        for attempt in 1..50 {
            let d = b.delay(attempt);
            let exp = 2f64.powi(attempt - 1).min(60.0);
            assert!(
                d.as_secs_f64() >= exp / 2.0 - 1e-9,
                "attempt {attempt}: {d:?}"
            );
            assert!(d.as_secs_f64() <= exp + 1e-9, "attempt {attempt}: {d:?}");
        }
        assert!(b.delay(0) <= Duration::from_secs(1));
    }
}
