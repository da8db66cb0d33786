//! `both!(name)`: runs the async fn `name(db: TestDb)` on a fresh database
//! of every backend: PostgreSQL, SQLite and MariaDB (the name is older than
//! the third backend).

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

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                super::$name(TestDb::new(Backend::MariaDb).await).await
            }
        }
    };
}
