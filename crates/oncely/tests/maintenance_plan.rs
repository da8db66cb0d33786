//! The plans of the leader's two sweeps on PostgreSQL: the rescuer of expired
//! leases (`job_rescue_expired.sql`, every 5 s) and the pruner of old final
//! jobs (`job_prune.sql`). Both compare a timestamp column with the clock.
//! Compared with a bare `clock_timestamp()` (volatile) the comparison cannot
//! bound an index scan: during a 1,000,000-job drain the rescuer read the
//! whole table at every run (250-650 ms each), and the pruner did at every
//! prune. And with no statistics yet (a table filled faster than autovacuum
//! analyzes it) the planner still chose to read and sort the whole table, so
//! each sweep runs in a transaction that first runs `sweep_plan.sql`. As the
//! driver runs them, each statement must bound its index by the clock, in its
//! generic plan (what a prepared statement settles on) and in a custom one,
//! on a table with statistics and on one without.
//!
//! SQLite's sweeps had the same shape of fault without statistics: they read
//! every running job (rescuer) or every finished one (pruner) through the
//! state index and sorted them. They name their index (`INDEXED BY`), and
//! their query plans are checked here too.

#[path = "common/plans.rs"]
mod plans;

use oncely_testkit::{Backend, TestDb};
use sqlx::{Connection, PgConnection, Row};

const RESCUE: &str = include_str!("../src/store/postgres/sql/job_rescue_expired.sql");
const PRUNE: &str = include_str!("../src/store/postgres/sql/job_prune.sql");
const SWEEP_PLAN: &str = include_str!("../src/store/postgres/sql/sweep_plan.sql");
const SQLITE_RESCUE: &str = include_str!("../src/store/sqlite/sql/job_rescue_expired.sql");
const SQLITE_PRUNE: &str = include_str!("../src/store/sqlite/sql/job_prune.sql");

/// Jobs in the table: most of them waiting, some running (a few past their
/// lease), some finished long ago and some recently.
const BACKLOG: u32 = 20_000;

/// The plan of `statement` (with parameter `types`) executed with `args`, as
/// text, under `plan_cache_mode` = `mode`, in a transaction that ran
/// `sweep_plan.sql` as the driver's does.
async fn plan(
    conn: &mut PgConnection,
    types: &str,
    statement: &str,
    args: &str,
    mode: &str,
) -> String {
    let settings = format!(
        "{};\nSET LOCAL plan_cache_mode = {mode}",
        SWEEP_PLAN.trim().trim_end_matches(';')
    );
    plans::explain(conn, &settings, types, statement, args).await
}

/// A connection to a fresh database holding the mixed table, analyzed or
/// never analyzed (autovacuum off for the table, so it stays that way).
async fn filled(analyzed: bool) -> (TestDb, PgConnection) {
    let db = TestDb::new(Backend::Postgres).await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let fill = format!(
        "ALTER TABLE oncely_jobs SET (autovacuum_enabled = false);
         INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key)
         SELECT 'bench', 'noop', jsonb_build_object('n', g), 'available', 25, 'k' || g
         FROM generate_series(1, {BACKLOG}) g;
         UPDATE oncely_jobs SET state = 'completed', finalized_at = now() - interval '2 days'
         WHERE id <= 3000;
         UPDATE oncely_jobs SET state = 'completed', finalized_at = now() - interval '1 minute'
         WHERE id > 3000 AND id <= 6000;
         UPDATE oncely_jobs SET state = 'discarded', finalized_at = now() - interval '1 hour'
         WHERE id > 6000 AND id <= 6500;
         UPDATE oncely_jobs SET state = 'running', lease_expires_at = now() + interval '30 seconds'
         WHERE id > 6500 AND id <= 8500;
         UPDATE oncely_jobs SET state = 'running', lease_expires_at = now() - interval '1 minute'
         WHERE id > 8500 AND id <= 8550;
         {}",
        if analyzed { "ANALYZE oncely_jobs" } else { "" }
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(fill))
        .execute(&mut conn)
        .await
        .expect("filling the table");
    (db, conn)
}

/// Checks that `plan` (of `what`, under `mode`) bounds `index` by the clock on
/// `column`, reaches each picked job by its primary key, and neither reads
/// nor hashes the whole table nor gathers a bitmap of a whole index.
fn assert_bounded(what: &str, mode: &str, plan: &str, index: &str, column: &str) {
    for right in [
        format!("Index Scan using {index}"),
        format!("Index Cond: ({column} <"),
        "Index Scan using oncely_jobs_pkey".to_string(),
    ] {
        assert!(
            plan.contains(&right),
            "the {what} ({mode}) must use {right}; its plan:\n{plan}"
        );
    }
    for wrong in ["Seq Scan", "Hash Join", "Merge Join", "Bitmap"] {
        assert!(
            !plan.contains(wrong),
            "the {what} ({mode}) must not use a {wrong}; its plan:\n{plan}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rescuer_reads_only_expired_leases_from_the_lease_index() {
    for analyzed in [false, true] {
        let (_db, mut conn) = filled(analyzed).await;
        for mode in ["force_generic_plan", "force_custom_plan"] {
            let plan = plan(&mut conn, "bigint", RESCUE, "1000", mode).await;
            let mode = format!("{mode}, analyzed: {analyzed}");
            let (index, column) = ("oncely_jobs_lease", "lease_expires_at");
            assert_bounded("rescuer", &mode, &plan, index, column);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pruner_reads_only_old_final_jobs_from_the_finalized_index() {
    for analyzed in [false, true] {
        let (_db, mut conn) = filled(analyzed).await;
        for mode in ["force_generic_plan", "force_custom_plan"] {
            let plan = plan(
                &mut conn,
                "float8, float8, bigint, text, bigint",
                PRUNE,
                "86400, 604800, 1000, 'leader', 1",
                mode,
            )
            .await;
            let mode = format!("{mode}, analyzed: {analyzed}");
            let (index, column) = ("oncely_jobs_finalized", "finalized_at");
            assert_bounded("pruner", &mode, &plan, index, column);
        }
    }
}

/// SQLite's query plan of `statement` (its parameters unbound), one step per
/// line.
async fn sqlite_plan(conn: &mut sqlx::SqliteConnection, statement: &str) -> String {
    let explain = format!("EXPLAIN QUERY PLAN {}", statement.trim());
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(explain))
        .fetch_all(&mut *conn)
        .await
        .expect("explaining the statement");
    rows.iter()
        .map(|row| row.try_get::<String, _>("detail").expect("a plan step"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_the_sweeps_read_their_index_bounded_by_the_clock() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    for (what, statement, index) in [
        (
            "rescuer",
            SQLITE_RESCUE,
            "oncely_jobs_lease (lease_expires_at<?)",
        ),
        (
            "pruner",
            SQLITE_PRUNE,
            "oncely_jobs_finalized (finalized_at<?)",
        ),
    ] {
        let plan = sqlite_plan(&mut conn, statement).await;
        for right in [
            // "USING INDEX" or "USING COVERING INDEX", by SQLite's version.
            format!("INDEX {index}"),
            "SEARCH oncely_jobs USING INTEGER PRIMARY KEY (rowid=?)".to_string(),
        ] {
            assert!(
                plan.contains(&right),
                "the {what} must {right}; its plan:\n{plan}"
            );
        }
        for wrong in ["SCAN oncely_jobs", "oncely_jobs_state_queue", "TEMP B-TREE"] {
            assert!(
                !plan.contains(wrong),
                "the {what} must not use {wrong}; its plan:\n{plan}"
            );
        }
    }
}
