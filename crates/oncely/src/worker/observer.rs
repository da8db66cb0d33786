//! [`Observer`]: timings a client reports as they happen, for histograms in
//! whatever metrics system the application uses (the `oncely` CLI exports
//! them to Prometheus). The library itself depends on no metrics crate.
//!
//! Invariant: observers are called on the hot path and must not block;
//! every method has a no-op default.

use std::time::Duration;

/// Receives timings from a [`super::Client`]; install it with
/// [`super::ClientBuilder::observer`].
pub trait Observer: std::fmt::Debug + Send + Sync + 'static {
    /// One claim statement of `queue` returned `jobs` jobs after `took`.
    fn claimed(&self, queue: &str, jobs: usize, took: Duration) {
        let _ = (queue, jobs, took);
    }

    /// An attempt of a job of `kind` in `queue` starts, `waited` after the
    /// job became due (database clock from due to claim, plus the time it
    /// was held in the local buffer).
    fn started(&self, queue: &str, kind: &str, waited: Duration) {
        let _ = (queue, kind, waited);
    }

    /// An attempt ran for `ran` and ended as `outcome` (`completed`,
    /// `failed`, `panicked`, `timed_out`, `lease_lost`, `deadline`,
    /// `cancelled`, `shutdown`, `not_done`).
    fn finished(&self, queue: &str, kind: &str, outcome: &'static str, ran: Duration) {
        let _ = (queue, kind, outcome, ran);
    }
}
