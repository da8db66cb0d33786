//! MariaDB/MySQL migrations: embedded, applied under a named server lock,
//! statement by statement (each DDL statement commits on its own), every
//! statement written so that it can run again.

use sqlx::MySqlConnection;

use crate::error::{Error, Result};
use crate::store::migration::{compare, latest, Migration};
use crate::store::MigrationReport;

/// Every MariaDB/MySQL migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "schema",
        sql: include_str!("migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        name: "sql_api",
        sql: include_str!("migrations/0002_sql_api.sql"),
    },
];

/// The statements of a migration: separated by lines holding only
/// `-- statement`; comment-only pieces are skipped.
pub(crate) fn statements(sql: &str) -> Vec<&str> {
    sql.split("\n-- statement\n")
        .map(str::trim)
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        })
        .collect()
}

/// Fails unless the schema is at the newest embedded version.
pub(crate) async fn check(conn: &mut MySqlConnection) -> Result<()> {
    let exists: i64 = sqlx::query_scalar(include_str!("sql/migrations_table_exists.sql"))
        .fetch_one(&mut *conn)
        .await?;
    let found: i64 = if exists == 0 {
        0
    } else {
        sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
            .fetch_one(&mut *conn)
            .await?
    };
    compare(found, latest(MIGRATIONS))
}

/// Applies the missing migrations, holding the migration lock throughout.
pub(crate) async fn apply(conn: &mut MySqlConnection) -> Result<MigrationReport> {
    let locked: Option<i64> = sqlx::query_scalar(include_str!("sql/migrations_lock.sql"))
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(Error::Migration(
            "another process held the migration lock for 60 s".into(),
        ));
    }
    let applied = apply_locked(conn).await;
    let _ = sqlx::query(include_str!("sql/migrations_unlock.sql"))
        .execute(&mut *conn)
        .await;
    applied
}

async fn apply_locked(conn: &mut MySqlConnection) -> Result<MigrationReport> {
    let supported = latest(MIGRATIONS);
    sqlx::raw_sql(include_str!("sql/migrations_bootstrap.sql"))
        .execute(&mut *conn)
        .await?;
    let from: i64 = sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
        .fetch_one(&mut *conn)
        .await?;
    if from > supported {
        return Err(Error::SchemaTooNew {
            found: from,
            supported,
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        for statement in statements(migration.sql) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut *conn)
                .await
                .map_err(|e| {
                    Error::Migration(format!(
                        "migration {} ({}) failed: {e}; it is safe to run `oncely migrate` again",
                        migration.version, migration.name
                    ))
                })?;
        }
        sqlx::query(include_str!("sql/migrations_record.sql"))
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut *conn)
            .await?;
        applied.push(migration.version);
    }
    Ok(MigrationReport {
        from,
        to: applied.last().copied().unwrap_or(from),
        applied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_split_into_statements_without_comment_only_pieces() {
        let parts = statements("-- header\n-- more\n\nCREATE TABLE a (x INT)\n-- statement\n-- only a comment\n-- statement\nCREATE FUNCTION f() RETURNS INT BEGIN RETURN 1; END\n");
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].ends_with("CREATE TABLE a (x INT)"));
        assert!(parts[1].starts_with("CREATE FUNCTION"));
        for migration in MIGRATIONS {
            assert!(!statements(migration.sql).is_empty(), "{}", migration.name);
        }
    }
}
