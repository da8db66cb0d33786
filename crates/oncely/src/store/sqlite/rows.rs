//! Decoding of SQLite rows into jobs.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, ValueRef};

use crate::error::Result;
use crate::job::Job;
use crate::store::{decode, Fence};

/// The id and fencing token of a job row, read alone (for rows that do not
/// decode in full).
pub(super) fn fence(row: &SqliteRow) -> Result<Fence> {
    Ok(Fence {
        job_id: row.try_get("id")?,
        fence: row.try_get("fence")?,
    })
}

/// Decodes a full `oncely_jobs` row.
pub(super) fn job(row: &SqliteRow) -> Result<Job> {
    let id: i64 = row.try_get("id")?;
    let args: String = row.try_get("args")?;
    let errors: String = row.try_get("errors")?;
    let state: String = row.try_get("state")?;
    let run_at: String = row.try_get("run_at")?;
    let created_at: String = row.try_get("created_at")?;
    let priority: i64 = row.try_get("priority")?;
    Ok(Job {
        id,
        queue: row.try_get("queue")?,
        kind: row.try_get("kind")?,
        args: decode::json(id, "args", &args)?,
        state: decode::state(id, &state)?,
        priority: i16::try_from(priority)
            .map_err(|_| decode::corrupt(Some(id), format!("priority {priority}")))?,
        run_at: decode::timestamp(id, "run_at", &run_at)?,
        attempt: row.try_get("attempt")?,
        max_attempts: row.try_get("max_attempts")?,
        fence: row.try_get("fence")?,
        lease_expires_at: decode::opt_timestamp(
            id,
            "lease_expires_at",
            row.try_get("lease_expires_at")?,
        )?,
        locked_by: row.try_get("locked_by")?,
        at_most_once: row.try_get("at_most_once")?,
        reconcilable: row.try_get("reconcilable")?,
        unique_key: row.try_get("unique_key")?,
        idempotency_key: row.try_get("idempotency_key")?,
        timeout_ms: row.try_get("timeout_ms")?,
        errors: decode::errors(id, decode::json(id, "errors", &errors)?)?,
        created_at: decode::timestamp(id, "created_at", &created_at)?,
        attempted_at: decode::opt_timestamp(id, "attempted_at", row.try_get("attempted_at")?)?,
        reconciling: row.try_get("reconciling")?,
        finalized_at: decode::opt_timestamp(id, "finalized_at", row.try_get("finalized_at")?)?,
        cancel_requested_at: decode::opt_timestamp(
            id,
            "cancel_requested_at",
            row.try_get("cancel_requested_at")?,
        )?,
        reruns: row.try_get("reruns")?,
    })
}

/// The first column of a `RETURNING` row, as text (ids are returned as text too).
pub(super) fn first_column_text(row: &SqliteRow) -> Result<String> {
    let raw = row.try_get_raw(0)?;
    if raw.is_null() {
        return Ok(String::new());
    }
    match row.try_get::<String, _>(0) {
        Ok(text) => Ok(text),
        Err(_) => Ok(row.try_get::<i64, _>(0)?.to_string()),
    }
}
