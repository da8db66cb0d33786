//! PostgreSQL: the registry of workers seen recently (for operators only;
//! nothing about jobs depends on it).

use super::pooled::In;
use std::time::Duration;

use sqlx::Row;

use super::PgDriver;
use crate::error::Result;
use crate::store::WorkerRecord;

/// Records worker `id` as alive; forgets workers unseen for a day.
pub(super) async fn beat(d: &PgDriver, id: &str, queues: &str) -> Result<()> {
    let mut tx = d.pool.begin().await?;
    sqlx::query(include_str!("sql/worker_beat.sql"))
        .bind(id)
        .bind(queues)
        .execute(In(&mut tx, d.mode))
        .await?;
    sqlx::query(include_str!("sql/worker_forget_old.sql"))
        .execute(In(&mut tx, d.mode))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a graceful shutdown.
pub(super) async fn stopped(d: &PgDriver, id: &str) -> Result<()> {
    sqlx::query(include_str!("sql/worker_stopped.sql"))
        .bind(id)
        .execute(d.on())
        .await?;
    Ok(())
}

/// Workers seen within `seen_within`.
pub(super) async fn list(d: &PgDriver, seen_within: Duration) -> Result<Vec<WorkerRecord>> {
    sqlx::query(include_str!("sql/worker_list.sql"))
        .bind(seen_within.as_secs_f64())
        .fetch_all(d.on())
        .await?
        .iter()
        .map(|row| {
            Ok(WorkerRecord {
                id: row.try_get("id")?,
                queues: row.try_get("queues")?,
                started_at: row.try_get("started_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                stopped_at: row.try_get("stopped_at")?,
            })
        })
        .collect()
}
