//! `explain`: the plan PostgreSQL runs a statement of the driver's with, as
//! the driver runs it — prepared on a connection inside a transaction that
//! first ran the driver's planner settings — as text, one line per node. The
//! transaction is rolled back and the statement deallocated after.
//! `jit_planned`: whether PostgreSQL would compile such a statement with JIT.
//! Each test binary that includes this module uses some of these helpers.
#![allow(dead_code)]

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
    explain_as(
        conn,
        "SELECT 1",
        settings,
        types,
        statement,
        args,
        "COSTS OFF",
    )
    .await
}

/// Whether PostgreSQL would compile `statement` with JIT after `settings`,
/// were its plan costly enough for any JIT (`jit_above_cost` 0 for the
/// transaction, set before `settings`).
pub async fn jit_planned(
    conn: &mut PgConnection,
    settings: &str,
    types: &str,
    statement: &str,
    args: &str,
) -> bool {
    let eager = "SELECT set_config('jit_above_cost', '0', true)";
    let plan = explain_as(conn, eager, settings, types, statement, args, "COSTS ON").await;
    plan.lines()
        .any(|line| line.trim_start().starts_with("JIT:"))
}

/// Whether this server can compile with JIT at all (its LLVM module loads).
pub async fn jit_available(conn: &mut PgConnection) -> bool {
    sqlx::query_scalar("SELECT pg_jit_available()")
        .fetch_one(conn)
        .await
        .expect("asking whether JIT is available")
}

async fn explain_as(
    conn: &mut PgConnection,
    first: &str,
    settings: &str,
    types: &str,
    statement: &str,
    args: &str,
    options: &str,
) -> String {
    let setup = format!(
        "BEGIN;
         {first};
         {};
         PREPARE oncely_explained({types}) AS {}",
        settings.trim().trim_end_matches(';'),
        statement.trim().trim_end_matches(';')
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(&mut *conn)
        .await
        .expect("preparing the statement");
    let explain = format!("EXPLAIN ({options}) EXECUTE oncely_explained({args})");
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
