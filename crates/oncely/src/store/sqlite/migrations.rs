//! SQLite migrations: embedded, applied together in one immediate transaction.

use sqlx::SqlitePool;

use crate::error::{Error, Result};
use crate::store::migration::{compare, latest, Migration};
use crate::store::MigrationReport;

/// Every SQLite migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs",
        sql: include_str!("migrations/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "schedules_leader",
        sql: include_str!("migrations/0002_schedules_leader.sql"),
    },
    Migration {
        version: 3,
        name: "reconcile",
        sql: include_str!("migrations/0003_reconcile.sql"),
    },
    Migration {
        version: 4,
        name: "steps",
        sql: include_str!("migrations/0004_steps.sql"),
    },
    Migration {
        version: 5,
        name: "reconcilable_jobs",
        sql: include_str!("migrations/0005_reconcilable_jobs.sql"),
    },
    Migration {
        version: 6,
        name: "cancel_requests_reruns",
        sql: include_str!("migrations/0006_cancel_requests_reruns.sql"),
    },
    Migration {
        version: 7,
        name: "operator",
        sql: include_str!("migrations/0007_operator.sql"),
    },
];

async fn current(pool: &SqlitePool) -> Result<i64> {
    let exists: i64 = sqlx::query_scalar(include_str!("sql/migrations_table_exists.sql"))
        .fetch_one(pool)
        .await?;
    if exists == 0 {
        return Ok(0);
    }
    Ok(
        sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
            .fetch_one(pool)
            .await?,
    )
}

/// Fails unless the schema is at the newest embedded version.
pub(crate) async fn check(pool: &SqlitePool) -> Result<()> {
    let found = current(pool).await?;
    compare(found, latest(MIGRATIONS))
}

/// Applies the missing migrations in one immediate transaction.
pub(crate) async fn apply(pool: &SqlitePool) -> Result<MigrationReport> {
    let supported = latest(MIGRATIONS);
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(include_str!("sql/migrations_bootstrap.sql"))
        .execute(&mut *tx)
        .await?;
    let from: i64 = sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
        .fetch_one(&mut *tx)
        .await?;
    if from > supported {
        return Err(Error::SchemaTooNew {
            found: from,
            supported,
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query(include_str!("sql/migrations_record.sql"))
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut *tx)
            .await?;
        applied.push(migration.version);
    }
    tx.commit().await?;
    Ok(MigrationReport {
        from,
        to: from.max(applied.last().copied().unwrap_or(from)),
        applied,
    })
}
