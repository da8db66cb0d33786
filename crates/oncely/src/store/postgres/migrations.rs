//! PostgreSQL migrations: embedded, applied in one transaction under an
//! advisory lock so that servers migrating at once do not race.

use super::pooled::{In, On};

use crate::error::{Error, Result};
use crate::store::migration::{compare, latest, Migration};
use crate::store::MigrationReport;

/// Every PostgreSQL migration, oldest first.
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
        name: "insert_notify_by_driver",
        sql: include_str!("migrations/0006_insert_notify_by_driver.sql"),
    },
    Migration {
        version: 7,
        name: "cancel_requests_reruns",
        sql: include_str!("migrations/0007_cancel_requests_reruns.sql"),
    },
    Migration {
        version: 8,
        name: "fewer_indexes",
        sql: include_str!("migrations/0008_fewer_indexes.sql"),
    },
    Migration {
        version: 9,
        name: "operator",
        sql: include_str!("migrations/0009_operator.sql"),
    },
    Migration {
        version: 10,
        name: "sql_api",
        sql: include_str!("migrations/0010_sql_api.sql"),
    },
];

/// Fails unless the schema is at the newest embedded version.
pub(crate) async fn check(on: On<'_>) -> Result<()> {
    let exists: i64 = sqlx::query_scalar(include_str!("sql/migrations_table_exists.sql"))
        .fetch_one(on)
        .await?;
    let found: i64 = if exists == 0 {
        0
    } else {
        sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
            .fetch_one(on)
            .await?
    };
    compare(found, latest(MIGRATIONS))
}

/// Applies the missing migrations in one transaction.
pub(crate) async fn apply(on: On<'_>) -> Result<MigrationReport> {
    let supported = latest(MIGRATIONS);
    let mut tx = on.pool.begin().await?;
    sqlx::query(include_str!("sql/migrations_lock.sql"))
        .execute(In(&mut tx, on.mode))
        .await?;
    sqlx::raw_sql(include_str!("sql/migrations_bootstrap.sql"))
        .execute(In(&mut tx, on.mode))
        .await?;
    let from: i64 = sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
        .fetch_one(In(&mut tx, on.mode))
        .await?;
    if from > supported {
        return Err(Error::SchemaTooNew {
            found: from,
            supported,
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        sqlx::raw_sql(migration.sql)
            .execute(In(&mut tx, on.mode))
            .await?;
        sqlx::query(include_str!("sql/migrations_record.sql"))
            .bind(migration.version)
            .bind(migration.name)
            .execute(In(&mut tx, on.mode))
            .await?;
        applied.push(migration.version);
    }
    tx.commit().await?;
    Ok(MigrationReport {
        from,
        to: applied.last().copied().unwrap_or(from),
        applied,
    })
}
