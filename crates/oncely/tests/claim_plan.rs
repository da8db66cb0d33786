//! The plan of the PostgreSQL claim, as the driver runs it: the statement of
//! `job_claim.sql`, prepared on a connection inside a transaction that ran
//! `claim_plan.sql`, so planned once as a generic plan (which cannot see the
//! claim's LIMIT). On an analyzed backlog it must read the head of the fetch
//! index and reach each picked row by its primary key: no sort, no bitmap
//! scan, and no hash or merge join over the whole table (which the generic
//! plan chose before, a sequential scan of every row at every claim: 5 ms per
//! claim at 20,000 jobs, 250 ms at 1,000,000).

#[path = "common/plans.rs"]
mod plans;

use oncely_testkit::{Backend, TestDb};
use sqlx::{Connection, PgConnection};

const CLAIM: &str = include_str!("../src/store/postgres/sql/job_claim.sql");
const CLAIM_PLAN: &str = include_str!("../src/store/postgres/sql/claim_plan.sql");

/// Jobs in the backlog: enough for the planner to weigh a scan of the table
/// against lookups by key (the generic plan guesses a tenth of it picked).
const BACKLOG: u32 = 20_000;

/// The claim's generic plan on `conn`, as text, for a claim of `limit` jobs.
async fn claim_plan(conn: &mut PgConnection, limit: i64) -> String {
    let types = "text, text[], bigint, float8, text";
    let args = format!("'bench', '{{noop}}', {limit}, 30, 'w'");
    plans::explain(conn, CLAIM_PLAN, types, CLAIM, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_reads_the_fetch_index_and_reaches_each_picked_job_by_its_key() {
    let db = TestDb::new(Backend::Postgres).await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let fill = format!(
        "INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key)
         SELECT 'bench', 'noop', jsonb_build_object('n', g), 'available', 25, 'k' || g
         FROM generate_series(1, {BACKLOG}) g;
         ANALYZE oncely_jobs"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(fill))
        .execute(&mut conn)
        .await
        .expect("filling the backlog");
    for limit in [1, 45, 1000] {
        let plan = claim_plan(&mut conn, limit).await;
        for wrong in ["Hash Join", "Merge Join", "Seq Scan", "Sort", "Bitmap"] {
            assert!(
                !plan.contains(wrong),
                "the claim of {limit} must not use a {wrong}; its plan:\n{plan}"
            );
        }
        for right in [
            "Index Scan using oncely_jobs_fetch",
            "Index Scan using oncely_jobs_pkey",
        ] {
            assert!(
                plan.contains(right),
                "the claim of {limit} must use an {right}; its plan:\n{plan}"
            );
        }
        assert!(
            plan.contains("Nested Loop"),
            "the claim of {limit} must join the picked ids by key lookups; its plan:\n{plan}"
        );
    }
}
