//! The client's entry in the registry of workers seen recently: reported
//! every heartbeat period, marked stopped at a graceful shutdown.
//!
//! Invariant: for operators only — a failed report is logged and retried at
//! the next period, and neither a failing nor a stalled database delays the
//! shutdown by more than [`STOP_REPORT_LIMIT`].

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// Longest the shutdown waits to record that this worker stopped.
pub(crate) const STOP_REPORT_LIMIT: Duration = Duration::from_secs(2);

/// Reports `id` (serving `queues`) every `every` until `stop` fires.
pub(crate) async fn report(
    store: Store,
    id: String,
    queues: String,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            reported = store.worker_beat(&id, &queues) => {
                if let Err(error) = reported {
                    tracing::warn!(%error, "could not record this worker as alive (operators' view only)");
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    match tokio::time::timeout(STOP_REPORT_LIMIT, store.worker_stopped(&id)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not record this worker as stopped"),
        Err(_) => tracing::warn!("recording this worker as stopped timed out"),
    }
}
