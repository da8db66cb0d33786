//! Per-queue wake-up signals, fed by local inserts and database notifications,
//! and per-attempt nudges when an operator cancels a running job.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, Wakeup};

/// One `Notify` per queue this client works, and one per job it runs.
#[derive(Debug, Default)]
pub(crate) struct Wakeups {
    queues: HashMap<String, Arc<Notify>>,
    /// Fires when the leader resigns, so followers try to take over at once.
    pub(crate) leader_resigned: Arc<Notify>,
    /// The attempts running here, by job id: nudged when an operator cancels one.
    running: std::sync::Mutex<HashMap<i64, Arc<Notify>>>,
    /// Cancels announced for jobs not running here yet (perhaps held in a
    /// producer's buffer): the newest [`EARLY_CANCELS`], remembered so an
    /// attempt that starts afterwards heartbeats at once and sees its cancel.
    early: std::sync::Mutex<std::collections::VecDeque<i64>>,
}

/// How many announced cancels of jobs not (yet) running here are remembered.
const EARLY_CANCELS: usize = 256;

/// A running attempt's registration; removed when dropped.
pub(crate) struct Watch<'a> {
    wakeups: &'a Wakeups,
    job_id: i64,
    /// Fires when the job's cancel was announced.
    pub(crate) nudged: Arc<Notify>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut running = self
            .wakeups
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        running.remove(&self.job_id);
    }
}

impl Wakeups {
    pub(crate) fn new<'a>(queues: impl IntoIterator<Item = &'a str>) -> Self {
        Wakeups {
            queues: queues
                .into_iter()
                .map(|q| (q.to_owned(), Arc::new(Notify::new())))
                .collect(),
            leader_resigned: Arc::new(Notify::new()),
            running: Default::default(),
            early: Default::default(),
        }
    }

    /// Registers the running attempt of `job_id` for cancel announcements.
    pub(crate) fn watch(&self, job_id: i64) -> Watch<'_> {
        let nudged = Arc::new(Notify::new());
        {
            let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = early.iter().position(|&id| id == job_id) {
                early.remove(at);
                // Stored as a permit: the attempt's first wait returns at once.
                nudged.notify_one();
            }
        }
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(job_id, nudged.clone());
        Watch {
            wakeups: self,
            job_id,
            nudged,
        }
    }

    /// An operator cancelled `job_id`: if it runs here, its executor heartbeats now.
    pub(crate) fn nudge(&self, job_id: i64) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match running.get(&job_id) {
            Some(notify) => notify.notify_one(),
            None => {
                drop(running);
                let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
                if early.len() == EARLY_CANCELS {
                    early.pop_front();
                }
                early.push_back(job_id);
            }
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
                    Ok(Wakeup::CancelRequested(job_id)) => wakeups.nudge(job_id),
                    Err(error) => {
                        tracing::warn!(%error, "job notifications interrupted; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}
