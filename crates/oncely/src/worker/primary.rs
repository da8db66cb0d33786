//! Follows a PostgreSQL failover: every [`CHECK_EVERY`] the client asks its
//! store whether writes still go to the primary (after a promotion the store
//! points new connections at the new primary and drops the old ones, so
//! producers, heartbeats, the listener and maintenance carry on there), and
//! settles a new timeline: jobs whose effect must not repeat and whose claim
//! may have been lost are held in doubt before anything can claim them.
//!
//! Invariant: ends at once on SQLite; a failed check is logged and retried
//! at the next period, never fatal; no pass waits longer than a few seconds
//! (a check never queues behind a pool that waits for a dead server).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Backend, PrimaryCheck, Store};

/// How often the client checks where the primary is.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Longest one settling of the timeline may take before the next check.
const SETTLE_LIMIT: Duration = Duration::from_secs(2);

/// Checks until `stop` fires.
pub(crate) async fn follow(store: Store, stop: CancellationToken) {
    if store.backend() != Backend::Postgres {
        return;
    }
    let mut replicated = true;
    loop {
        let pass = async {
            if replicated {
                match store.ensure_primary().await {
                    Ok(PrimaryCheck::SingleServer) => replicated = false,
                    Ok(PrimaryCheck::Unchanged) => {}
                    Ok(PrimaryCheck::Switched(address)) => {
                        tracing::warn!(primary = %address, "failover: writing to the new primary");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot find a primary that accepts writes")
                    }
                }
            }
            // Bounded: with the primary gone the pool waits its whole
            // acquire timeout, and the next check must not wait behind it.
            match tokio::time::timeout(SETTLE_LIMIT, store.epoch_settle()).await {
                Ok(Ok(Some(settled))) => tracing::warn!(
                    timeline = settled.epoch,
                    held_in_doubt = settled.held,
                    "new timeline settled: at-most-once and reconcilable jobs that were due are held in doubt"
                ),
                Ok(Ok(None)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "cannot settle the timeline"),
                Err(_) => tracing::warn!("settling the timeline timed out; trying again"),
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            () = pass => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}
