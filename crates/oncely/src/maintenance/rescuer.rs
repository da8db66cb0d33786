//! The rescuer: returns jobs whose lease expired (their worker crashed, hung
//! or lost the database) to retryable, or to in doubt when the job is
//! at-most-once, or discards them when no attempt is left.
//!
//! Invariant: it only touches `running` rows whose lease ended by the
//! database clock, in batches, each a single conditional statement; running
//! it on several servers at once is safe.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::store::{RescueReport, Store};

/// Settings of the [`Rescuer`].
#[derive(Debug, Clone)]
pub struct RescuerConfig {
    /// Time between passes. Default 5 s.
    pub interval: Duration,
    /// Jobs per statement. Default 1,000.
    pub batch: u32,
}

impl Default for RescuerConfig {
    fn default() -> Self {
        RescuerConfig {
            interval: Duration::from_secs(5),
            batch: 1000,
        }
    }
}

/// Rescues jobs with expired leases.
pub struct Rescuer {
    store: Store,
    config: RescuerConfig,
}

impl Rescuer {
    /// A rescuer on `store`.
    pub fn new(store: Store, config: RescuerConfig) -> Self {
        Rescuer { store, config }
    }

    /// The configuration.
    pub fn config(&self) -> &RescuerConfig {
        &self.config
    }

    /// One pass: batches until no expired lease is left.
    pub async fn run_once(&self) -> Result<RescueReport> {
        let mut total = RescueReport::default();
        loop {
            let report = self
                .store
                .job_rescue_expired(self.config.batch.max(1))
                .await?;
            total.retried += report.retried;
            total.discarded += report.discarded;
            total.in_doubt += report.in_doubt;
            if report.total() < u64::from(self.config.batch.max(1)) {
                return Ok(total);
            }
        }
    }

    /// Passes every interval until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.run_once().await {
                Ok(report) if report.total() > 0 => {
                    tracing::info!(?report, "rescued jobs with expired leases")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "rescue pass failed"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.config.interval) => {}
            }
        }
    }
}
