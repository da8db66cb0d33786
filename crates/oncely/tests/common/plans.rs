//! `explain`: the plan PostgreSQL runs a statement of the driver's with, as
//! the driver runs it — prepared on a connection inside a transaction that
//! first ran the driver's planner settings — as text, one line per node. The
//! transaction is rolled back and the statement deallocated after.

use sqlx::{PgConnection, Row};

/// The plan of `statement` (parameter `types`, executed with `args`) after
/// `settings` (SQL run first in the same transaction), on `conn`.
pub async fn explain(
    conn: &mut PgConnection,
    settings: &str,
    types: &str,
    statement: &str,
    args: &str,
) -> String {
    let setup = format!(
        "BEGIN;
         {};
         PREPARE oncely_explained({types}) AS {}",
        settings.trim().trim_end_matches(';'),
        statement.trim().trim_end_matches(';')
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(&mut *conn)
        .await
        .expect("preparing the statement");
    let explain = format!("EXPLAIN (COSTS OFF) EXECUTE oncely_explained({args})");
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(explain))
        .fetch_all(&mut *conn)
        .await
        .expect("explaining the statement");
    sqlx::raw_sql("ROLLBACK; DEALLOCATE oncely_explained")
        .execute(&mut *conn)
        .await
        .expect("rollback and deallocate");
    rows.iter()
        .map(|row| row.try_get::<String, _>(0).expect("a plan line"))
        .collect::<Vec<_>>()
        .join("\n")
}
