//! `both!(name)`: runs the async fn `name(db: TestDb)` once on a fresh
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
