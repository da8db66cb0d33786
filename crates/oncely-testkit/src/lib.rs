//! Test support for oncely: a fresh database per test on any backend.
//!
//! PostgreSQL: uses the server at `DATABASE_URL` when set; otherwise starts
//! one throwaway cluster per test process from the server binaries on the
//! machine (`initdb`/`postgres` on PATH or under `/usr/lib/postgresql/*/bin`),
//! as the `postgres` user when running as root (initdb refuses root), on a
//! free loopback port, and tears it down when the process exits. Each test
//! gets its own database. Without server binaries the tests fail and say how
//! to install them; they never skip.
//!
//! SQLite: a fresh file in a temporary directory, removed on drop.
//!
//! MariaDB: a database on the server at `MARIADB_URL` when set, otherwise on
//! one throwaway server per test process ([`MariaDb`], from the machine's
//! `mariadb-server` binaries); without them the tests fail saying what to
//! install.
//!
//! [`StallProxy`]: a loopback TCP proxy a test can stall and resume, to cut a
//! worker off from PostgreSQL without closing its connections.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bouncer;
mod cluster;
mod mariadb;
mod netns;
mod proxy;
mod replica;

use std::sync::atomic::{AtomicU32, Ordering};

use oncely::store::{connect, Store};
use sqlx::Connection;

pub use bouncer::{Bouncer, PoolMode};
pub use cluster::Cluster;
pub use mariadb::MariaDb;
pub use netns::Host;
pub use proxy::StallProxy;
pub use replica::{ReplicatedPair, Replication};

/// Runs `$body` with `$conn` bound to a fresh connection to `$db`, whichever
/// its backend, then closes the connection.
macro_rules! on_connection {
    ($db:expr, $conn:ident, $body:expr) => {
        match $db.backend {
            Backend::Postgres => {
                let mut $conn = sqlx::PgConnection::connect(&$db.url)
                    .await
                    .expect("connect");
                let out = $body;
                let _ = $conn.close().await;
                out
            }
            Backend::Sqlite => {
                let mut $conn = sqlx::SqliteConnection::connect(&$db.url)
                    .await
                    .expect("connect");
                let out = $body;
                let _ = $conn.close().await;
                out
            }
            Backend::MariaDb => {
                let mut $conn = oncely::store::mariadb::connect_one(&$db.url)
                    .await
                    .expect("connect");
                let out = $body;
                let _ = $conn.close().await;
                out
            }
        }
    };
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
    /// MariaDB (a throwaway server of the test kit, [`MariaDb`]).
    MariaDb,
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    /// URL for `oncely::connect` and for child processes.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database on `backend`, migrated.
    pub async fn new(backend: Backend) -> TestDb {
        let db = match backend {
            Backend::Postgres => TestDb::postgres_unmigrated().await,
            Backend::Sqlite => TestDb::sqlite_unmigrated(),
            Backend::MariaDb => TestDb::mariadb_unmigrated().await,
        };
        db.store()
            .await
            .migrate()
            .await
            .expect("migrating the test database");
        db
    }

    /// A fresh, empty (unmigrated) database on `backend`, for applications
    /// that run their own migrations.
    pub async fn postgres_or_sqlite(backend: Backend) -> TestDb {
        match backend {
            Backend::Postgres => TestDb::postgres_unmigrated().await,
            Backend::Sqlite => TestDb::sqlite_unmigrated(),
            Backend::MariaDb => TestDb::mariadb_unmigrated().await,
        }
    }

    /// A fresh, empty MariaDB database on the test kit's server.
    pub async fn mariadb_unmigrated() -> TestDb {
        TestDb {
            url: MariaDb::fresh_database().await,
            backend: Backend::MariaDb,
            _dir: None,
        }
    }

    /// A fresh, empty PostgreSQL database.
    pub async fn postgres_unmigrated() -> TestDb {
        let server = postgres_server();
        let name = format!(
            "oncely_test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL at {server}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creating the test database");
        let _ = admin.close().await;
        TestDb {
            url: replace_database(&server, &name),
            backend: Backend::Postgres,
            _dir: None,
        }
    }

    /// A fresh, empty SQLite file.
    pub fn sqlite_unmigrated() -> TestDb {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let path = dir.path().join("oncely.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
            _dir: Some(dir),
        }
    }

    /// Runs raw SQL on the database (to expire leases, corrupt rows, ...).
    pub async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        on_connection!(self, conn, {
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map(|_| ())
                .expect("raw SQL")
        })
    }

    /// Runs a query returning one text value (first column of the first row).
    pub async fn query_text(&self, sql: &str) -> String {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        on_connection!(self, conn, {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_one(&mut conn)
                .await
                .expect("query")
        })
    }

    /// Drops the database (PostgreSQL, MariaDB) from the server it was made
    /// on: a benchmark run against someone's server must not leave its
    /// databases behind (each holds a whole backlog, and autovacuum keeps
    /// visiting them). A SQLite file goes with the value instead.
    pub async fn drop_database(&self) -> Result<(), String> {
        let name = database_name(&self.url);
        match self.backend {
            Backend::Sqlite => Ok(()),
            Backend::Postgres => {
                // Not from inside the database itself: from the server's URL.
                let server = postgres_server();
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .map_err(|e| format!("connecting to {server}: {e}"))?;
                let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
                let _ = admin.close().await;
                dropped
                    .map(|_| ())
                    .map_err(|e| format!("dropping {name}: {e}"))
            }
            Backend::MariaDb => {
                let mut conn = oncely::store::mariadb::connect_one(&self.url)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", self.url))?;
                let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut conn)
                .await;
                let _ = conn.close().await;
                dropped
                    .map(|_| ())
                    .map_err(|e| format!("dropping {name}: {e}"))
            }
        }
    }

    /// Ends the lease of every running job, as if its worker had stopped
    /// heartbeating long ago (no sleeping in tests).
    pub async fn expire_leases(&self) {
        let past = match self.backend {
            Backend::Postgres => "now() - interval '1 hour'",
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3600 seconds')",
            Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 1 HOUR",
        };
        self.exec(&format!(
            "UPDATE oncely_jobs SET lease_expires_at = {past} WHERE state = 'running'"
        ))
        .await;
    }

    /// Makes every waiting job due now (skips backoff and schedules).
    pub async fn make_due(&self) {
        let past = match self.backend {
            Backend::Postgres => "now() - interval '1 second'",
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds')",
            Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND",
        };
        self.exec(&format!(
            "UPDATE oncely_jobs SET run_at = {past} WHERE state IN ('scheduled','retryable','available')"
        ))
        .await;
    }

    /// The `host:port` of a PostgreSQL test database (to put a
    /// [`StallProxy`] in front of it). Panics on SQLite or an URL without one.
    pub fn postgres_addr(&self) -> std::net::SocketAddr {
        assert_eq!(
            self.backend,
            Backend::Postgres,
            "only PostgreSQL has an address"
        );
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        host.parse()
            .unwrap_or_else(|e| panic!("{host:?} in {} is not host:port: {e}", self.url))
    }

    /// Stores a schedule row as another binary might have written it, with
    /// `spec` (JSON text) and `args` (JSON text) as given: for tests of rows
    /// that do not decode or validate. `name` and the JSON must not contain `'`.
    pub async fn insert_raw_schedule(
        &self,
        name: &str,
        spec: &str,
        queue: &str,
        kind: &str,
        args: &str,
    ) {
        let now = match self.backend {
            Backend::Postgres => "now() - interval '1 day'",
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 days')",
            Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 1 DAY",
        };
        self.exec(&format!(
            "INSERT INTO oncely_schedules (name, spec, queue, kind, args, max_attempts, catch_up, \
             created_at, updated_at) VALUES ('{name}', '{spec}', '{queue}', '{kind}', '{args}', 3, \
             '{{\"policy\":\"latest\"}}', {now}, {now})"
        ))
        .await;
    }

    /// Inserts `job` inside a transaction of its own connection (the
    /// `insert_tx` path an application uses), and commits.
    pub async fn insert_in_transaction(
        &self,
        job: &oncely::NewJob,
    ) -> oncely::store::InsertOutcome {
        on_connection!(self, conn, {
            let mut tx = match self.backend {
                Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres | Backend::MariaDb => conn.begin().await,
            }
            .expect("begin");
            let outcome = insert_tx_on(&mut tx, job).await;
            tx.commit().await.expect("commit");
            outcome
        })
    }

    /// A new connection pool on this database.
    pub async fn store(&self) -> Store {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.url))
    }
}

/// The backend's `insert_tx` on a transaction of either kind.
trait InsertTx {
    async fn insert_tx_here(&mut self, job: &oncely::NewJob) -> oncely::store::InsertOutcome;
}

impl InsertTx for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn insert_tx_here(&mut self, job: &oncely::NewJob) -> oncely::store::InsertOutcome {
        oncely::store::postgres::insert_tx(self, job)
            .await
            .expect("insert_tx")
    }
}

impl InsertTx for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn insert_tx_here(&mut self, job: &oncely::NewJob) -> oncely::store::InsertOutcome {
        oncely::store::sqlite::insert_tx(self, job)
            .await
            .expect("insert_tx")
    }
}

impl InsertTx for sqlx::Transaction<'_, sqlx::MySql> {
    async fn insert_tx_here(&mut self, job: &oncely::NewJob) -> oncely::store::InsertOutcome {
        oncely::store::mariadb::insert_tx(self, job)
            .await
            .expect("insert_tx")
    }
}

async fn insert_tx_on(
    tx: &mut impl InsertTx,
    job: &oncely::NewJob,
) -> oncely::store::InsertOutcome {
    tx.insert_tx_here(job).await
}

/// The PostgreSQL server the tests make their databases on: `DATABASE_URL`,
/// or the test process's own throwaway cluster.
pub fn postgres_server() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => Cluster::shared().url("postgres"),
    }
}

/// The database named in `url` (its path, before any query).
fn database_name(url: &str) -> &str {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    base.rsplit('/').next().unwrap_or_default()
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// The decision tests record with their operator actions.
pub fn tester() -> oncely::store::Decision {
    oncely::store::Decision {
        actor: "tester".into(),
        reason: "test".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            replace_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            replace_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
