//! PostgreSQL never compiles the claim or the leader's sweeps with JIT.
//!
//! The claim's generic plan guesses a tenth of the table picked; once a large
//! table has statistics (autovacuum's ANALYZE, minutes into a burst) that
//! guess priced the claim above `jit_above_cost`, and PostgreSQL compiled it
//! with LLVM at every execution: 13 ms of CPU for a claim whose work took 6,
//! a fifth of the machine in a 1,000,000-job drain. The sweeps' plans, priced
//! with nodes switched off, can cost more still. Their plan settings
//! (`claim_plan.sql`, `sweep_plan.sql`) switch JIT off for the transaction;
//! here each statement is planned as if any cost were worth compiling
//! (`jit_above_cost` 0) and must not be — and, without those settings, must
//! be, or the check could not fail.

#[path = "common/plans.rs"]
mod plans;

use oncely_testkit::{Backend, TestDb};
use sqlx::{Connection, PgConnection};

const CLAIM: &str = include_str!("../src/store/postgres/sql/job_claim.sql");
const CLAIM_PLAN: &str = include_str!("../src/store/postgres/sql/claim_plan.sql");
const RESCUE: &str = include_str!("../src/store/postgres/sql/job_rescue_expired.sql");
const PRUNE: &str = include_str!("../src/store/postgres/sql/job_prune.sql");
const SWEEP_PLAN: &str = include_str!("../src/store/postgres/sql/sweep_plan.sql");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_and_the_sweeps_are_never_compiled_with_jit() {
    let db = TestDb::new(Backend::Postgres).await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    assert!(
        plans::jit_available(&mut conn).await,
        "this test needs a PostgreSQL server that can JIT (its llvmjit module, \
         which Debian's postgresql-15 package ships): it checks that oncely's \
         statements switch JIT off"
    );
    let statements = [
        (
            "claim",
            CLAIM_PLAN,
            "text, text[], bigint, float8, text",
            CLAIM,
            "'bench', '{noop}', 500, 30, 'w'",
        ),
        ("rescuer", SWEEP_PLAN, "bigint", RESCUE, "1000"),
        (
            "pruner",
            SWEEP_PLAN,
            "float8, float8, bigint, text, bigint",
            PRUNE,
            "86400, 604800, 1000, 'leader', 1",
        ),
    ];
    for (what, settings, types, statement, args) in statements {
        assert!(
            plans::jit_planned(&mut conn, "SELECT 1", types, statement, args).await,
            "without its plan settings the {what} should be compiled at jit_above_cost 0 \
             (otherwise this check proves nothing)"
        );
        assert!(
            !plans::jit_planned(&mut conn, settings, types, statement, args).await,
            "the {what} must run with JIT off"
        );
    }
}
