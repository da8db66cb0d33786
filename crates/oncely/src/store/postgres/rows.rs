//! Decoding of PostgreSQL rows into jobs.
//!
//! A result set's columns are looked up by name once ([`JobColumns`]), then
//! every row of it is read by position: a claim decodes hundreds of rows, and
//! a lookup by name per column per row was a tenth of a worker's CPU in a
//! drain. Each value is still checked against its column's type.

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::Result;
use crate::job::Job;
use crate::store::{decode, Fence};

/// The id and fencing token of a job row, read alone (for rows that do not
/// decode in full).
pub(super) fn fence(row: &PgRow) -> Result<Fence> {
    Ok(Fence {
        job_id: row.try_get("id")?,
        fence: row.try_get("fence")?,
    })
}

/// Decodes a full `oncely_jobs` row.
pub(super) fn job(row: &PgRow) -> Result<Job> {
    JobColumns::of(row)?.job(row)
}

/// Decodes full `oncely_jobs` rows of one result set (their columns are
/// looked up once).
pub(super) fn jobs(rows: &[PgRow]) -> Result<Vec<Job>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns = JobColumns::of(first)?;
    rows.iter().map(|row| columns.job(row)).collect()
}

/// Splits claimed rows into the jobs that decode and the fences of those
/// that do not (see [`decode::split_claimed`]), columns looked up once.
pub(super) fn claimed(rows: &[PgRow]) -> Result<(Vec<Job>, Vec<decode::Unreadable>)> {
    let Some(first) = rows.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let columns = JobColumns::of(first)?;
    decode::split_claimed(rows, |row| columns.job(row), fence)
}

/// Where each of a job's columns is in a result set's rows.
struct JobColumns {
    id: usize,
    queue: usize,
    kind: usize,
    args: usize,
    state: usize,
    priority: usize,
    run_at: usize,
    attempt: usize,
    max_attempts: usize,
    fence: usize,
    lease_expires_at: usize,
    locked_by: usize,
    at_most_once: usize,
    reconcilable: usize,
    unique_key: usize,
    idempotency_key: usize,
    timeout_ms: usize,
    errors: usize,
    created_at: usize,
    attempted_at: usize,
    reconciling: usize,
    finalized_at: usize,
    cancel_requested_at: usize,
    reruns: usize,
}

impl JobColumns {
    /// The positions of a job's columns in `row`'s result set (an error
    /// naming the column if one is missing).
    fn of(row: &PgRow) -> Result<JobColumns> {
        let at = |name: &str| -> Result<usize> { Ok(sqlx::Column::ordinal(row.try_column(name)?)) };
        Ok(JobColumns {
            id: at("id")?,
            queue: at("queue")?,
            kind: at("kind")?,
            args: at("args")?,
            state: at("state")?,
            priority: at("priority")?,
            run_at: at("run_at")?,
            attempt: at("attempt")?,
            max_attempts: at("max_attempts")?,
            fence: at("fence")?,
            lease_expires_at: at("lease_expires_at")?,
            locked_by: at("locked_by")?,
            at_most_once: at("at_most_once")?,
            reconcilable: at("reconcilable")?,
            unique_key: at("unique_key")?,
            idempotency_key: at("idempotency_key")?,
            timeout_ms: at("timeout_ms")?,
            errors: at("errors")?,
            created_at: at("created_at")?,
            attempted_at: at("attempted_at")?,
            reconciling: at("reconciling")?,
            finalized_at: at("finalized_at")?,
            cancel_requested_at: at("cancel_requested_at")?,
            reruns: at("reruns")?,
        })
    }

    /// Decodes one row of the result set these positions came from.
    fn job(&self, row: &PgRow) -> Result<Job> {
        let id: i64 = row.try_get(self.id)?;
        let state: &str = row.try_get(self.state)?;
        Ok(Job {
            id,
            queue: row.try_get(self.queue)?,
            kind: row.try_get(self.kind)?,
            args: row.try_get(self.args)?,
            state: decode::state(id, state)?,
            priority: row.try_get(self.priority)?,
            run_at: row.try_get(self.run_at)?,
            attempt: row.try_get(self.attempt)?,
            max_attempts: row.try_get(self.max_attempts)?,
            fence: row.try_get(self.fence)?,
            lease_expires_at: row.try_get(self.lease_expires_at)?,
            locked_by: row.try_get(self.locked_by)?,
            at_most_once: row.try_get(self.at_most_once)?,
            reconcilable: row.try_get(self.reconcilable)?,
            unique_key: row.try_get(self.unique_key)?,
            idempotency_key: row.try_get(self.idempotency_key)?,
            timeout_ms: row.try_get(self.timeout_ms)?,
            errors: decode::errors(id, row.try_get(self.errors)?)?,
            created_at: row.try_get(self.created_at)?,
            attempted_at: row.try_get(self.attempted_at)?,
            reconciling: row.try_get(self.reconciling)?,
            finalized_at: row.try_get(self.finalized_at)?,
            cancel_requested_at: row.try_get(self.cancel_requested_at)?,
            reruns: row.try_get(self.reruns)?,
        })
    }
}
