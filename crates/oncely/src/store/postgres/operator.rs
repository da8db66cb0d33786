//! PostgreSQL: the operator verbs (cancel, retry, resolve, pause, resume),
//! the operator log and the read-only listings beside them.
//!
//! Invariant: an action and its log line commit in one transaction; a refused
//! action rolls back and records nothing.

use super::pooled::In;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{rows, PgDriver};
use crate::error::Result;
use crate::job::Job;
use crate::store::{ActionFilter, Decision, MinuteCount, OperatorAction, QueueState, StepRecord};

/// What an operator write on one job binds after its id.
pub(super) enum JobWrite<'a> {
    /// Only the id.
    Plain,
    /// A resolution: the new state and the note.
    Resolve(&'a str, &'a str),
}

/// Runs an operator statement on job `id` and logs it as `action`; when no
/// row changes, says why (`refused` names the action in the error).
pub(super) async fn job_write(
    d: &PgDriver,
    sql: &'static str,
    id: i64,
    write: JobWrite<'_>,
    refused: &'static str,
    action: &str,
    by: &Decision,
) -> Result<Job> {
    let mut tx = d.pool.begin().await?;
    let mut query = sqlx::query(sql).bind(id);
    if let JobWrite::Resolve(state, note) = write {
        query = query.bind(state).bind(note);
    }
    let row = query.fetch_optional(In(&mut tx, d.mode)).await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Err(d.refusal(id, refused).await?);
    };
    let job = rows::job(&row)?;
    log(
        In(&mut tx, d.mode),
        by,
        action,
        Some(id),
        Some(&job.queue),
        job.state.as_str(),
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// Pauses (`pause`) or resumes a queue and logs it.
pub(super) async fn queue_write(
    d: &PgDriver,
    queue: &str,
    pause: bool,
    by: &Decision,
) -> Result<QueueState> {
    crate::job::validate_queue(queue)?;
    let mut tx = d.pool.begin().await?;
    let row = if pause {
        sqlx::query(include_str!("sql/queue_pause.sql"))
            .bind(queue)
            .bind(&by.actor)
            .bind(&by.reason)
            .fetch_one(In(&mut tx, d.mode))
            .await?
    } else {
        sqlx::query(include_str!("sql/queue_resume.sql"))
            .bind(queue)
            .fetch_one(In(&mut tx, d.mode))
            .await?
    };
    let state = queue_state(&row)?;
    let (action, outcome) = if pause {
        ("pause", "paused")
    } else {
        ("resume", "running")
    };
    log(In(&mut tx, d.mode), by, action, None, Some(queue), outcome).await?;
    tx.commit().await?;
    Ok(state)
}

async fn log(
    conn: In<'_>,
    by: &Decision,
    action: &str,
    job_id: Option<i64>,
    queue: Option<&str>,
    outcome: &str,
) -> Result<()> {
    sqlx::query(include_str!("sql/operator_action_insert.sql"))
        .bind(&by.actor)
        .bind(action)
        .bind(job_id)
        .bind(queue)
        .bind(&by.reason)
        .bind(outcome)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every queue with a pause record.
pub(super) async fn queue_states(d: &PgDriver) -> Result<Vec<QueueState>> {
    sqlx::query(include_str!("sql/queue_states.sql"))
        .fetch_all(d.on())
        .await?
        .iter()
        .map(queue_state)
        .collect()
}

/// The operator log, newest first.
pub(super) async fn actions(d: &PgDriver, filter: &ActionFilter) -> Result<Vec<OperatorAction>> {
    sqlx::query(include_str!("sql/operator_actions.sql"))
        .bind(filter.job_id)
        .bind(filter.queue.as_deref())
        .bind(i64::from(filter.limit.unwrap_or(100)))
        .fetch_all(d.on())
        .await?
        .iter()
        .map(|row| {
            Ok(OperatorAction {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                job_id: row.try_get("job_id")?,
                queue: row.try_get("queue")?,
                reason: row.try_get("reason")?,
                outcome: row.try_get("outcome")?,
            })
        })
        .collect()
}

/// Every stored step of a job.
pub(super) async fn steps(d: &PgDriver, job_id: i64) -> Result<Vec<StepRecord>> {
    sqlx::query(include_str!("sql/step_list.sql"))
        .bind(job_id)
        .fetch_all(d.on())
        .await?
        .iter()
        .map(|row| {
            Ok(StepRecord {
                name: row.try_get("name")?,
                result: row.try_get("result")?,
                fence: row.try_get("fence")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Jobs finalized per minute over the last `minutes`.
pub(super) async fn throughput(d: &PgDriver, minutes: u32) -> Result<Vec<MinuteCount>> {
    sqlx::query(include_str!("sql/job_throughput.sql"))
        .bind(i32::try_from(minutes).unwrap_or(i32::MAX))
        .fetch_all(d.on())
        .await?
        .iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            Ok(MinuteCount {
                minute: row.try_get("minute")?,
                state: crate::store::decode::state(0, &state)?,
                count: row.try_get("count")?,
            })
        })
        .collect()
}

fn queue_state(row: &PgRow) -> Result<QueueState> {
    Ok(QueueState {
        name: row.try_get("name")?,
        paused_at: row.try_get("paused_at")?,
        paused_by: row.try_get("paused_by")?,
        pause_reason: row.try_get("pause_reason")?,
        updated_at: row.try_get("updated_at")?,
    })
}
