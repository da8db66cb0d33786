//! Per-queue wake-up signals, fed by local inserts and database notifications.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, Wakeup};

/// One `Notify` per queue this client works.
#[derive(Debug, Default)]
pub(crate) struct Wakeups {
    queues: HashMap<String, Arc<Notify>>,
    /// Fires when the leader resigns, so followers try to take over at once.
    pub(crate) leader_resigned: Arc<Notify>,
}

impl Wakeups {
    pub(crate) fn new<'a>(queues: impl IntoIterator<Item = &'a str>) -> Self {
        Wakeups {
            queues: queues
                .into_iter()
                .map(|q| (q.to_owned(), Arc::new(Notify::new())))
                .collect(),
            leader_resigned: Arc::new(Notify::new()),
        }
    }

    /// The signal of `queue`.
    pub(crate) fn get(&self, queue: &str) -> Option<Arc<Notify>> {
        self.queues.get(queue).cloned()
    }

    /// Wakes the producer of `queue`, if this client works it.
    pub(crate) fn wake(&self, queue: &str) {
        if let Some(notify) = self.queues.get(queue) {
            notify.notify_one();
        }
    }
}

/// Forwards database notifications to the producers until `stop`.
/// Reconnects after errors; polling covers what is missed meanwhile.
pub(crate) async fn forward(store: Store, wakeups: Arc<Wakeups>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let mut listener = match store.listen().await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for job notifications; polling only");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                }
            }
        };
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                received = listener.recv() => match received {
                    Ok(Wakeup::Queue(queue)) => wakeups.wake(&queue),
                    Ok(Wakeup::LeaderResigned) => wakeups.leader_resigned.notify_waiters(),
                    Err(error) => {
                        tracing::warn!(%error, "job notifications interrupted; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}
