//! What a scenario cost PostgreSQL: WAL written per job, dead tuples left
//! behind, and the size of the tables and indexes afterwards — the database's
//! side of a throughput figure. The same queries run on the peers in
//! `bench/anchors`, each in its own fresh database.

use serde::Serialize;
use sqlx::Connection;

/// The database's side of one run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DbCost {
    /// WAL bytes written during the run, per job (cluster-wide counter).
    pub wal_bytes_per_job: f64,
    /// Dead tuples left in the database's tables after the run.
    pub dead_tuples: i64,
    /// Size of the database's tables (heap), MiB.
    pub table_mib: f64,
    /// Size of their indexes, MiB.
    pub index_mib: f64,
}

/// The current WAL position, in bytes.
pub async fn wal_position(url: &str) -> Result<i64, String> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("connecting for WAL: {e}"))?;
    // Unnamed, in a transaction: works behind a transaction pooler too.
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| format!("reading WAL position: {e}"))?;
    let lsn: i64 = sqlx::query_scalar(include_str!("sql/wal_position.sql"))
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| format!("reading WAL position: {e}"))?;
    let _ = tx.commit().await;
    let _ = conn.close().await;
    Ok(lsn)
}

/// The cost of a run of `jobs` jobs that started at WAL position `from`.
/// Waits a moment so that the servers' table statistics are flushed.
pub async fn since(url: &str, from: i64, jobs: u32) -> Result<DbCost, String> {
    let to = wal_position(url).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut cost = now(url).await?;
    cost.wal_bytes_per_job = (to - from) as f64 / f64::from(jobs.max(1));
    Ok(cost)
}

/// Dead tuples and sizes now (no WAL figure).
pub async fn now(url: &str) -> Result<DbCost, String> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("connecting for table statistics: {e}"))?;
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| format!("reading table statistics: {e}"))?;
    let (dead, table, index): (i64, i64, i64) = sqlx::query_as(include_str!("sql/table_cost.sql"))
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| format!("reading table statistics: {e}"))?;
    let _ = tx.commit().await;
    let _ = conn.close().await;
    let mib = |bytes: i64| bytes as f64 / (1024.0 * 1024.0);
    Ok(DbCost {
        wal_bytes_per_job: 0.0,
        dead_tuples: dead,
        table_mib: mib(table),
        index_mib: mib(index),
    })
}
