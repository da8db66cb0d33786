//! The daily task: find invoices due for sending and enqueue one send job
//! each. The unique key `invoice:<id>` makes sweeps racing on several servers
//! create one job per invoice.

use async_trait::async_trait;
use oncely::{JobContext, JobError, NewJob, Store, Worker};

use crate::db::InvoiceDb;
use crate::send::{idempotency_key, unique_key, SendArgs, KIND, QUEUE};

/// Kind name of the sweep job.
pub const SWEEP_KIND: &str = "invoices:sweep";

/// Name of the periodic schedule that runs the sweep.
pub const SCHEDULE: &str = "invoices:daily-sweep";

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Open invoices due.
    pub due: usize,
    /// Send jobs this sweep created.
    pub enqueued: usize,
}

/// Enqueues a send job for every open invoice due within `days_ahead` days;
/// `at_most_once` when the provider's effects are not idempotent.
pub async fn sweep(
    db: &InvoiceDb,
    store: &Store,
    days_ahead: i32,
    at_most_once: bool,
) -> Result<SweepReport, String> {
    let due = db.open_due(days_ahead).await.map_err(|e| e.to_string())?;
    let mut report = SweepReport {
        due: due.len(),
        enqueued: 0,
    };
    for chunk in due.chunks(1000) {
        let mut jobs = Vec::with_capacity(chunk.len());
        for &invoice_id in chunk {
            let mut job = NewJob::from_args(QUEUE, KIND, &SendArgs { invoice_id })
                .map_err(|e| e.to_string())?
                .with_unique_key(unique_key(invoice_id))
                .with_idempotency_key(idempotency_key(invoice_id))
                .with_max_attempts(25);
            job.at_most_once = at_most_once;
            jobs.push(job);
        }
        report.enqueued += store
            .job_insert_many(&jobs)
            .await
            .map_err(|e| e.to_string())? as usize;
    }
    Ok(report)
}

/// The sweep as a job (fired by the daily schedule).
pub struct SweepWorker {
    /// The invoices table.
    pub db: InvoiceDb,
    /// Days before the due date an invoice is sent.
    pub days_ahead: i32,
    /// Send jobs are at-most-once (the provider is not idempotent).
    pub at_most_once: bool,
}

#[async_trait]
impl Worker for SweepWorker {
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        let report = sweep(&self.db, ctx.store(), self.days_ahead, self.at_most_once)
            .await
            .map_err(JobError::retry)?;
        tracing::info!(due = report.due, enqueued = report.enqueued, "daily sweep");
        Ok(())
    }
}

/// Invoices whose send job is in doubt (their status stays `sending`).
pub async fn in_doubt_invoices(store: &Store) -> Result<std::collections::HashSet<i64>, String> {
    let jobs = store
        .job_list(&oncely::store::JobFilter {
            state: Some(oncely::JobState::InDoubt),
            queue: Some(QUEUE.into()),
            limit: Some(1_000_000),

            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(jobs
        .iter()
        .filter(|j| j.kind == KIND)
        .filter_map(|j| j.args["invoice_id"].as_i64())
        .collect())
}
