//! Decoding of PostgreSQL rows into jobs.

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
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    Ok(Job {
        id,
        queue: row.try_get("queue")?,
        kind: row.try_get("kind")?,
        args: row.try_get("args")?,
        state: decode::state(id, &state)?,
        priority: row.try_get("priority")?,
        run_at: row.try_get("run_at")?,
        attempt: row.try_get("attempt")?,
        max_attempts: row.try_get("max_attempts")?,
        fence: row.try_get("fence")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        locked_by: row.try_get("locked_by")?,
        at_most_once: row.try_get("at_most_once")?,
        reconcilable: row.try_get("reconcilable")?,
        unique_key: row.try_get("unique_key")?,
        idempotency_key: row.try_get("idempotency_key")?,
        timeout_ms: row.try_get("timeout_ms")?,
        errors: decode::errors(id, row.try_get("errors")?)?,
        created_at: row.try_get("created_at")?,
        attempted_at: row.try_get("attempted_at")?,
        reconciling: row.try_get("reconciling")?,
        finalized_at: row.try_get("finalized_at")?,
        cancel_requested_at: row.try_get("cancel_requested_at")?,
        reruns: row.try_get("reruns")?,
    })
}
