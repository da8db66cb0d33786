//! What operators and the console do on MariaDB: job actions recorded with
//! who and why, queue pause and resume, listings, workers seen recently.
//!
//! Invariant: an operator's write and its record in `oncely_operator_actions`
//! commit together or not at all.

use std::time::Duration;

use sqlx::mysql::MySqlRow;
use sqlx::{MySqlConnection, Row};

use super::driver::{micros, MariaDbDriver};
use super::rows;
use crate::error::Result;
use crate::job::Job;
use crate::store::{
    decode, ActionFilter, Decision, MinuteCount, OperatorAction, QueueState, StepRecord,
    WorkerRecord,
};

/// Runs an operator's write on job `id` (`binds` first, then the id), reads
/// the job back and records the action; `NotFound` or `InvalidTransition`
/// when it took no effect.
pub(super) async fn job_write(
    d: &MariaDbDriver,
    sql: &'static str,
    id: i64,
    binds: &[&str],
    refused: &'static str,
    action: &str,
    by: &Decision,
) -> Result<Job> {
    let mut tx = d.pool.begin().await?;
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    let done = query.bind(id).execute(&mut *tx).await?;
    let row = sqlx::query(include_str!("sql/job_get.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let job = match row {
        None => {
            tx.rollback().await?;
            return Err(crate::Error::NotFound(id));
        }
        Some(row) => rows::job(&row)?,
    };
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Err(crate::Error::InvalidTransition {
            id,
            state: job.state,
            action: refused,
        });
    }
    log(
        &mut tx,
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

/// Pauses or resumes `queue`, recorded.
pub(super) async fn queue_write(
    d: &MariaDbDriver,
    queue: &str,
    pause: bool,
    by: &Decision,
) -> Result<QueueState> {
    crate::job::validate_queue(queue)?;
    let mut tx = d.pool.begin().await?;
    if pause {
        sqlx::query(include_str!("sql/queue_pause.sql"))
            .bind(queue)
            .bind(&by.actor)
            .bind(&by.reason)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(include_str!("sql/queue_resume.sql"))
            .bind(queue)
            .execute(&mut *tx)
            .await?;
    }
    let row = sqlx::query(include_str!("sql/queue_state.sql"))
        .bind(queue)
        .fetch_one(&mut *tx)
        .await?;
    let state = queue_state(&row)?;
    let (action, outcome) = if pause {
        ("pause", "paused")
    } else {
        ("resume", "running")
    };
    log(&mut tx, by, action, None, Some(queue), outcome).await?;
    tx.commit().await?;
    Ok(state)
}

async fn log(
    conn: &mut MySqlConnection,
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

pub(super) async fn queue_states(d: &MariaDbDriver) -> Result<Vec<QueueState>> {
    sqlx::query(include_str!("sql/queue_states.sql"))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(queue_state)
        .collect()
}

pub(super) async fn actions(
    d: &MariaDbDriver,
    filter: &ActionFilter,
) -> Result<Vec<OperatorAction>> {
    sqlx::query(include_str!("sql/operator_actions.sql"))
        .bind(filter.job_id)
        .bind(filter.job_id)
        .bind(filter.queue.as_deref())
        .bind(filter.queue.as_deref())
        .bind(i64::from(filter.limit.unwrap_or(100)))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OperatorAction {
                id: row.try_get("id")?,
                at: rows::time(row, "at")?,
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

pub(super) async fn steps(d: &MariaDbDriver, job_id: i64) -> Result<Vec<StepRecord>> {
    sqlx::query(include_str!("sql/step_list.sql"))
        .bind(job_id)
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            let result: String = row.try_get("result")?;
            Ok(StepRecord {
                name: row.try_get("name")?,
                result: decode::json(job_id, "oncely_job_steps.result", &result)?,
                fence: row.try_get("fence")?,
                created_at: rows::time(row, "created_at")?,
            })
        })
        .collect()
}

pub(super) async fn throughput(d: &MariaDbDriver, minutes: u32) -> Result<Vec<MinuteCount>> {
    sqlx::query(include_str!("sql/job_throughput.sql"))
        .bind(i64::from(minutes) * 60)
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

pub(super) async fn worker_beat(d: &MariaDbDriver, id: &str, queues: &str) -> Result<()> {
    let mut tx = d.pool.begin().await?;
    sqlx::query(include_str!("sql/worker_beat.sql"))
        .bind(id)
        .bind(queues)
        .execute(&mut *tx)
        .await?;
    sqlx::query(include_str!("sql/worker_forget_old.sql"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn worker_list(
    d: &MariaDbDriver,
    seen_within: Duration,
) -> Result<Vec<WorkerRecord>> {
    sqlx::query(include_str!("sql/worker_list.sql"))
        .bind(micros(seen_within))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(WorkerRecord {
                id: row.try_get("id")?,
                queues: row.try_get("queues")?,
                started_at: rows::time(row, "started_at")?,
                last_seen_at: rows::time(row, "last_seen_at")?,
                stopped_at: rows::opt_time(row, "stopped_at")?,
            })
        })
        .collect()
}

fn queue_state(row: &MySqlRow) -> Result<QueueState> {
    Ok(QueueState {
        name: row.try_get("name")?,
        paused_at: rows::opt_time(row, "paused_at")?,
        paused_by: row.try_get("paused_by")?,
        pause_reason: row.try_get("pause_reason")?,
        updated_at: rows::time(row, "updated_at")?,
    })
}
