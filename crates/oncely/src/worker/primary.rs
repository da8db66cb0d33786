//! Follows a PostgreSQL failover: every [`CHECK_EVERY`] the client asks its
//! store whether writes still go to the primary; after a promotion the store
//! points new connections at the new primary and drops the old ones, so
//! producers, heartbeats, the listener and maintenance carry on there.
//!
//! Invariant: ends at once for a single server or SQLite; a failed check is
//! logged and retried at the next period, never fatal.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{PrimaryCheck, Store};

/// How often the client checks where the primary is.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Checks until `stop` fires.
pub(crate) async fn follow(store: Store, stop: CancellationToken) {
    loop {
        let checked = tokio::select! {
            _ = stop.cancelled() => return,
            checked = store.ensure_primary() => checked,
        };
        match checked {
            Ok(PrimaryCheck::SingleServer) => return,
            Ok(PrimaryCheck::Unchanged) => {}
            Ok(PrimaryCheck::Switched(address)) => {
                tracing::warn!(primary = %address, "failover: writing to the new primary");
            }
            Err(error) => tracing::warn!(%error, "cannot find a primary that accepts writes"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}
