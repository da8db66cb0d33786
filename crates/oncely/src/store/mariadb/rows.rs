//! Decoding of MariaDB rows: `DATETIME(6)` columns hold UTC, JSON is text.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use crate::error::Result;
use crate::job::Job;
use crate::store::{decode, Fence};

/// A UTC `DATETIME(6)` column.
pub(super) fn time(row: &MySqlRow, column: &str) -> Result<DateTime<Utc>> {
    let raw: NaiveDateTime = row.try_get(column)?;
    Ok(raw.and_utc())
}

/// A nullable UTC `DATETIME(6)` column.
pub(super) fn opt_time(row: &MySqlRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    let raw: Option<NaiveDateTime> = row.try_get(column)?;
    Ok(raw.map(|t| t.and_utc()))
}

/// The id and fencing token of a job row, read alone (for rows that do not
/// decode in full).
pub(super) fn fence(row: &MySqlRow) -> Result<Fence> {
    Ok(Fence {
        job_id: row.try_get("id")?,
        fence: row.try_get("fence")?,
    })
}

/// Decodes a full `oncely_jobs` row.
pub(super) fn job(row: &MySqlRow) -> Result<Job> {
    let id: i64 = row.try_get("id")?;
    let args: String = row.try_get("args")?;
    let errors: String = row.try_get("errors")?;
    let state: String = row.try_get("state")?;
    Ok(Job {
        id,
        queue: row.try_get("queue")?,
        kind: row.try_get("kind")?,
        args: decode::json(id, "args", &args)?,
        state: decode::state(id, &state)?,
        priority: row.try_get("priority")?,
        run_at: time(row, "run_at")?,
        attempt: row.try_get("attempt")?,
        max_attempts: row.try_get("max_attempts")?,
        fence: row.try_get("fence")?,
        lease_expires_at: opt_time(row, "lease_expires_at")?,
        locked_by: row.try_get("locked_by")?,
        at_most_once: row.try_get("at_most_once")?,
        reconcilable: row.try_get("reconcilable")?,
        unique_key: row.try_get("unique_key")?,
        idempotency_key: row.try_get("idempotency_key")?,
        timeout_ms: row.try_get("timeout_ms")?,
        errors: decode::errors(id, decode::json(id, "errors", &errors)?)?,
        created_at: time(row, "created_at")?,
        attempted_at: opt_time(row, "attempted_at")?,
        reconciling: row.try_get("reconciling")?,
        finalized_at: opt_time(row, "finalized_at")?,
        cancel_requested_at: opt_time(row, "cancel_requested_at")?,
        reruns: row.try_get("reruns")?,
    })
}

/// A `(state, fence)` row, to explain a rejected fenced write.
pub(super) fn state_and_fence(row: &MySqlRow) -> Result<(String, i64)> {
    Ok((row.try_get("state")?, row.try_get("fence")?))
}
