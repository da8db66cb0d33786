//! The pruner: deletes completed jobs older than a retention (default 24 h),
//! discarded and cancelled ones older than another (default 7 days), and
//! firing records older than 30 days, in bounded batches with a pause between
//! them so it never holds long locks. Jobs that are not final are never touched.

use std::time::Duration;

use crate::error::{Result, ValidationError};
use crate::store::{LeaderTerm, PruneParams, Store};

/// Settings of the [`Pruner`].
#[derive(Debug, Clone)]
pub struct PrunerConfig {
    /// Keep completed jobs this long. Default 24 h.
    pub completed_retention: Duration,
    /// Keep discarded and cancelled jobs this long. Default 7 days.
    pub others_retention: Duration,
    /// Keep `(schedule, period)` firing records this long. Default 30 days;
    /// periods are never fired again anyway (each schedule keeps its last period).
    pub firing_retention: Duration,
    /// Rows per statement. Default 1,000.
    pub batch: u32,
    /// Pause between batches. Default 10 ms.
    pub pause: Duration,
    /// Time between passes. Default 60 s.
    pub interval: Duration,
}

impl Default for PrunerConfig {
    fn default() -> Self {
        PrunerConfig {
            completed_retention: Duration::from_secs(24 * 3600),
            others_retention: Duration::from_secs(7 * 24 * 3600),
            firing_retention: Duration::from_secs(30 * 24 * 3600),
            batch: 1000,
            pause: Duration::from_millis(10),
            interval: Duration::from_secs(60),
        }
    }
}

impl PrunerConfig {
    /// The longest retention: 100 years, which keeps everything. A longer
    /// one (`Duration::MAX` for "never prune") reaches before any timestamp
    /// PostgreSQL can hold, and every prune pass failed on it.
    pub const MAX_RETENTION: Duration = Duration::from_secs(36_525 * 24 * 3600);

    /// Checks bounds.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.batch == 0 || self.batch > 100_000 {
            return Err(ValidationError::Args(
                "pruner batch must be 1 to 100,000".into(),
            ));
        }
        if self.interval.is_zero() {
            return Err(ValidationError::NonPositive("pruner interval"));
        }
        for (name, retention) in [
            ("completed_retention", self.completed_retention),
            ("others_retention", self.others_retention),
            ("firing_retention", self.firing_retention),
        ] {
            if retention > Self::MAX_RETENTION {
                return Err(ValidationError::Args(format!(
                    "pruner {name} must be at most 100 years (which keeps everything)"
                )));
            }
        }
        Ok(())
    }
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Jobs deleted.
    pub jobs: u64,
    /// Firing records deleted.
    pub firings: u64,
    /// Statements run.
    pub batches: u64,
}

/// Deletes old final jobs.
pub struct Pruner {
    store: Store,
    config: PrunerConfig,
}

impl Pruner {
    /// A pruner on `store`.
    pub fn new(store: Store, config: PrunerConfig) -> Self {
        Pruner { store, config }
    }

    /// The configuration.
    pub fn config(&self) -> &PrunerConfig {
        &self.config
    }

    /// Deletes batches until nothing old is left, as the leader of `term`.
    pub async fn run_once(&self, term: &LeaderTerm) -> Result<PruneReport> {
        let params = PruneParams {
            completed_older_than: self.config.completed_retention,
            others_older_than: self.config.others_retention,
            batch: self.config.batch,
        };
        let mut report = PruneReport::default();
        loop {
            let n = self.store.job_prune(&params, term).await?;
            report.jobs += n;
            report.batches += 1;
            if n < u64::from(self.config.batch) {
                break;
            }
            tokio::time::sleep(self.config.pause).await;
        }
        loop {
            let n = self
                .store
                .firing_prune(self.config.firing_retention, self.config.batch, term)
                .await?;
            report.firings += n;
            report.batches += 1;
            if n < u64::from(self.config.batch) {
                break;
            }
            tokio::time::sleep(self.config.pause).await;
        }
        Ok(report)
    }
}
