//! SQLite: the operator verbs (cancel, retry, resolve, pause, resume), the
//! operator log and the read-only listings beside them.
//!
//! Invariant: an action and its log line commit in one write transaction; a
//! refused action rolls back and records nothing.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{refusal, rows, SqliteDriver};
use crate::error::Result;
use crate::job::Job;
use crate::store::{
    decode, ActionFilter, Decision, MinuteCount, OperatorAction, QueueState, StepRecord,
};

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
    d: &SqliteDriver,
    sql: &'static str,
    id: i64,
    write: JobWrite<'_>,
    refused: &'static str,
    action: &str,
    by: &Decision,
) -> Result<Job> {
    let mut w = d.begin_write().await?;
    let mut query = sqlx::query(sql).bind(id);
    if let JobWrite::Resolve(state, note) = write {
        query = query.bind(state).bind(note);
    }
    let row = query.fetch_optional(&mut *w.tx).await?;
    let Some(row) = row else {
        let error = refusal(&mut w.tx, id, refused).await?;
        w.tx.rollback().await?;
        return Err(error);
    };
    let job = rows::job(&row)?;
    log(
        &mut w.tx,
        by,
        action,
        Some(id),
        Some(&job.queue),
        job.state.as_str(),
    )
    .await?;
    w.tx.commit().await?;
    Ok(job)
}

/// Pauses (`pause`) or resumes a queue and logs it.
pub(super) async fn queue_write(
    d: &SqliteDriver,
    queue: &str,
    pause: bool,
    by: &Decision,
) -> Result<QueueState> {
    crate::job::validate_queue(queue)?;
    let mut w = d.begin_write().await?;
    let row = if pause {
        sqlx::query(include_str!("sql/queue_pause.sql"))
            .bind(queue)
            .bind(&by.actor)
            .bind(&by.reason)
            .fetch_one(&mut *w.tx)
            .await?
    } else {
        sqlx::query(include_str!("sql/queue_resume.sql"))
            .bind(queue)
            .fetch_one(&mut *w.tx)
            .await?
    };
    let state = queue_state(&row)?;
    let (action, outcome) = if pause {
        ("pause", "paused")
    } else {
        ("resume", "running")
    };
    log(&mut w.tx, by, action, None, Some(queue), outcome).await?;
    w.tx.commit().await?;
    Ok(state)
}

async fn log(
    conn: &mut SqliteConnection,
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
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every queue with a pause record.
pub(super) async fn queue_states(d: &SqliteDriver) -> Result<Vec<QueueState>> {
    sqlx::query(include_str!("sql/queue_states.sql"))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(queue_state)
        .collect()
}

/// The operator log, newest first.
pub(super) async fn actions(
    d: &SqliteDriver,
    filter: &ActionFilter,
) -> Result<Vec<OperatorAction>> {
    sqlx::query(include_str!("sql/operator_actions.sql"))
        .bind(filter.job_id)
        .bind(filter.queue.as_deref())
        .bind(i64::from(filter.limit.unwrap_or(100)))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            let at: String = row.try_get("at")?;
            Ok(OperatorAction {
                id,
                at: decode::timestamp(id, "oncely_operator_actions.at", &at)?,
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
pub(super) async fn steps(d: &SqliteDriver, job_id: i64) -> Result<Vec<StepRecord>> {
    sqlx::query(include_str!("sql/step_list.sql"))
        .bind(job_id)
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            let result: String = row.try_get("result")?;
            let created: String = row.try_get("created_at")?;
            Ok(StepRecord {
                name: row.try_get("name")?,
                result: decode::json(job_id, "oncely_job_steps.result", &result)?,
                fence: row.try_get("fence")?,
                created_at: decode::timestamp(job_id, "oncely_job_steps.created_at", &created)?,
            })
        })
        .collect()
}

/// Jobs finalized per minute over the last `minutes`.
pub(super) async fn throughput(d: &SqliteDriver, minutes: u32) -> Result<Vec<MinuteCount>> {
    let back =
        decode::sqlite_modifier_back(std::time::Duration::from_secs(u64::from(minutes) * 60));
    sqlx::query(include_str!("sql/job_throughput.sql"))
        .bind(back)
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            let minute: String = row.try_get("minute")?;
            Ok(MinuteCount {
                minute: decode::timestamp(0, "minute", &minute)?,
                state: decode::state(0, &state)?,
                count: row.try_get("count")?,
            })
        })
        .collect()
}

fn queue_state(row: &SqliteRow) -> Result<QueueState> {
    let updated: String = row.try_get("updated_at")?;
    Ok(QueueState {
        name: row.try_get("name")?,
        paused_at: decode::opt_timestamp(0, "oncely_queues.paused_at", row.try_get("paused_at")?)?,
        paused_by: row.try_get("paused_by")?,
        pause_reason: row.try_get("pause_reason")?,
        updated_at: decode::timestamp(0, "oncely_queues.updated_at", &updated)?,
    })
}
