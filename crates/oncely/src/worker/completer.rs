//! The completer: writes the completions of a client's attempts in batches,
//! one fenced statement per batch instead of one round trip per job.
//!
//! There is no waiting to fill a batch: a batch is whatever has queued up
//! while the previous one was being written, so a quiet client completes each
//! job at once and a busy one writes hundreds per statement.
//!
//! Invariants: every request gets its own answer, as precise as
//! [`crate::Driver::job_complete`]'s — `Ok` once its job is completed by its
//! fence, `LeaseLost` (with why) otherwise; a batch that fails falls back to
//! one statement per job; when the completer is gone, requests go straight to
//! the store. The completer's task ends when the last sender (held by the
//! executors) is dropped, i.e. after the producers have finished.

use tokio::sync::{mpsc, oneshot};

use crate::error::Result;
use crate::store::{Fence, Store};

/// Requests waiting at most; senders wait beyond that.
const QUEUE: usize = 4096;

type Request = (Fence, oneshot::Sender<Result<()>>);

/// The handle executors complete through.
#[derive(Clone)]
pub(crate) struct Completer {
    requests: mpsc::Sender<Request>,
    store: Store,
}

impl Completer {
    /// A completer writing at most `max_batch` completions per statement, and
    /// the task that writes them (to be run until it returns).
    pub(crate) fn new(
        store: Store,
        max_batch: usize,
    ) -> (Completer, impl std::future::Future<Output = ()>) {
        let (requests, queue) = mpsc::channel(QUEUE);
        let task = run(store.clone(), queue, max_batch.max(1));
        (Completer { requests, store }, task)
    }

    /// Completes the attempt's job, in the next batch.
    pub(crate) async fn complete(&self, fence: Fence) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.requests.send((fence, reply)).await.is_err() {
            return self.store.job_complete(fence).await;
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => self.store.job_complete(fence).await,
        }
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Request>, max_batch: usize) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        write(&store, batch).await;
    }
}

/// Writes one batch and answers each request.
async fn write(store: &Store, batch: Vec<Request>) {
    if batch.len() == 1 {
        for (fence, reply) in batch {
            let _ = reply.send(store.job_complete(fence).await);
        }
        return;
    }
    let fences: Vec<Fence> = batch.iter().map(|(f, _)| *f).collect();
    match store.job_complete_many(&fences).await {
        Ok(outcomes) if outcomes.len() == batch.len() => {
            for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        other => {
            if let Err(error) = other {
                tracing::warn!(%error, jobs = batch.len(), "batched completion failed; completing one by one");
            }
            for (fence, reply) in batch {
                let _ = reply.send(store.job_complete(fence).await);
            }
        }
    }
}
