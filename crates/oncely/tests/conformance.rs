//! One conformance suite, run against every storage driver.
//!
//! Each `both!(name)` runs the async fn `name(db)` once on a fresh
//! PostgreSQL database and once on a fresh SQLite file.

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use oncely_testkit::{Backend, TestDb};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(TestDb::new(Backend::Postgres).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestDb::new(Backend::Sqlite).await).await
            }
        }
    };
}

#[path = "conformance/claim.rs"]
mod claim;
#[path = "conformance/fencing.rs"]
mod fencing;
#[path = "conformance/insert.rs"]
mod insert;
#[path = "conformance/migrate.rs"]
mod migrate;
#[path = "conformance/operator.rs"]
mod operator;
#[path = "conformance/outcomes.rs"]
mod outcomes;
#[path = "conformance/support.rs"]
mod support;
