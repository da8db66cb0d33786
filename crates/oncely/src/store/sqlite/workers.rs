//! SQLite: the registry of workers seen recently (for operators only;
//! nothing about jobs depends on it).

use std::time::Duration;

use sqlx::Row;

use super::SqliteDriver;
use crate::error::Result;
use crate::store::{decode, WorkerRecord};

/// Records worker `id` as alive; forgets workers unseen for a day.
pub(super) async fn beat(d: &SqliteDriver, id: &str, queues: &str) -> Result<()> {
    let mut w = d.begin_write().await?;
    sqlx::query(include_str!("sql/worker_beat.sql"))
        .bind(id)
        .bind(queues)
        .execute(&mut *w.tx)
        .await?;
    sqlx::query(include_str!("sql/worker_forget_old.sql"))
        .execute(&mut *w.tx)
        .await?;
    w.tx.commit().await?;
    Ok(())
}

/// Records a graceful shutdown.
pub(super) async fn stopped(d: &SqliteDriver, id: &str) -> Result<()> {
    let mut w = d.begin_write().await?;
    sqlx::query(include_str!("sql/worker_stopped.sql"))
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    w.tx.commit().await?;
    Ok(())
}

/// Workers seen within `seen_within`.
pub(super) async fn list(d: &SqliteDriver, seen_within: Duration) -> Result<Vec<WorkerRecord>> {
    sqlx::query(include_str!("sql/worker_list.sql"))
        .bind(decode::sqlite_modifier_back(seen_within))
        .fetch_all(&d.pool)
        .await?
        .iter()
        .map(|row| {
            let at = |column: &str| -> Result<String> { Ok(row.try_get(column)?) };
            Ok(WorkerRecord {
                id: row.try_get("id")?,
                queues: row.try_get("queues")?,
                started_at: decode::timestamp(0, "oncely_workers.started_at", &at("started_at")?)?,
                last_seen_at: decode::timestamp(
                    0,
                    "oncely_workers.last_seen_at",
                    &at("last_seen_at")?,
                )?,
                stopped_at: decode::opt_timestamp(
                    0,
                    "oncely_workers.stopped_at",
                    row.try_get("stopped_at")?,
                )?,
            })
        })
        .collect()
}
