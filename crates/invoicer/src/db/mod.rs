//! The invoicer's own storage: the `invoices` table, on the same database as
//! oncely's jobs. Everything else goes through the oncely library.
//!
//! Invariant: every write made on behalf of a send job is fenced on the job's
//! oncely token (`fence < token` to take an invoice, `fence <= token` to
//! finish it), so an attempt that lost its lease cannot change an invoice that
//! a newer attempt has taken.

mod mariadb;
mod migrate;
mod postgres;
mod sqlite;

use oncely::store::mariadb::MariaDbDriver;
use oncely::store::postgres::PgDriver;
use oncely::store::sqlite::SqliteDriver;
use oncely::store::{DatabaseUrl, Fence};
use oncely::Store;

use crate::invoice::{Invoice, NewInvoice};

/// Errors of the invoicer's storage.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// From the database.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// From oncely (URL, fenced completion, ...).
    #[error(transparent)]
    Oncely(#[from] oncely::Error),
    /// A row that does not hold what the invoicer wrote.
    #[error("corrupt invoice row: {0}")]
    Corrupt(String),
    /// Not possible on this backend.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// The invoices table on any backend, plus the oncely store on the same database.
#[derive(Clone)]
pub enum InvoiceDb {
    /// PostgreSQL.
    Postgres(PgDb),
    /// SQLite.
    Sqlite(sqlx::SqlitePool),
    /// MariaDB.
    MariaDb(sqlx::MySqlPool),
}

/// Opens the database at `url`: the invoice table's pool and the oncely store.
pub async fn open(url: &str) -> Result<(InvoiceDb, Store), DbError> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Postgres(url) => {
            let driver = PgDriver::connect_with_pool_size(&url, 16).await?;
            let db = InvoiceDb::Postgres(PgDb {
                pool: driver.pool().clone(),
                mode: driver.pooler_mode(),
            });
            Ok((db, std::sync::Arc::new(driver)))
        }
        DatabaseUrl::MariaDb(url) => {
            let driver = MariaDbDriver::connect(&url).await?;
            let db = InvoiceDb::MariaDb(driver.pool().clone());
            Ok((db, std::sync::Arc::new(driver)))
        }
        DatabaseUrl::Sqlite(path) => {
            let driver = SqliteDriver::open(&path).await?;
            let db = InvoiceDb::Sqlite(driver.pool().clone());
            Ok((db, std::sync::Arc::new(driver)))
        }
    }
}

/// oncely's PostgreSQL pool, and how statements must run on it (behind a
/// transaction pooler: unnamed, each in a transaction).
#[derive(Clone)]
pub struct PgDb {
    pool: sqlx::PgPool,
    mode: oncely::store::postgres::pooled::Mode,
}

impl PgDb {
    fn on(&self) -> oncely::store::postgres::pooled::On<'_> {
        oncely::store::postgres::pooled::On {
            pool: &self.pool,
            mode: self.mode,
        }
    }
}

/// Outcome of a fenced write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fenced {
    /// It took effect.
    Done,
    /// A newer attempt owns the invoice, or it is no longer open.
    Refused,
}

impl InvoiceDb {
    /// Applies the invoicer's migrations (oncely's are separate).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            InvoiceDb::Postgres(pool) => migrate::postgres(pool).await,
            InvoiceDb::Sqlite(pool) => migrate::sqlite(pool).await,
            InvoiceDb::MariaDb(pool) => mariadb::migrate(pool).await,
        }
    }

    /// Inserts invoices (already validated) in one transaction; returns their ids.
    pub async fn insert(&self, invoices: &[NewInvoice]) -> Result<Vec<i64>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::insert(pool, invoices).await,
            InvoiceDb::Sqlite(pool) => sqlite::insert(pool, invoices).await,
            InvoiceDb::MariaDb(pool) => mariadb::insert(pool, invoices).await,
        }
    }

    /// One invoice.
    pub async fn get(&self, id: i64) -> Result<Option<Invoice>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::get(pool, id).await,
            InvoiceDb::Sqlite(pool) => sqlite::get(pool, id).await,
            InvoiceDb::MariaDb(pool) => mariadb::get(pool, id).await,
        }
    }

    /// Ids of invoices due within `days` and still open (pending or sending).
    pub async fn open_due(&self, days: i32) -> Result<Vec<i64>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => {
                postgres::ids(
                    pool,
                    include_str!("postgres/sql/invoices_open_due_ids.sql"),
                    days,
                )
                .await
            }
            InvoiceDb::Sqlite(pool) => {
                sqlite::ids(
                    pool,
                    include_str!("sqlite/sql/invoices_open_due_ids.sql"),
                    days,
                )
                .await
            }
            InvoiceDb::MariaDb(pool) => {
                mariadb::ids(
                    pool,
                    include_str!("mariadb/sql/invoices_open_due_ids.sql"),
                    days,
                )
                .await
            }
        }
    }

    /// Fenced: an attempt with `token` takes the invoice.
    pub async fn mark_sending(&self, id: i64, token: i64) -> Result<Fenced, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::mark_sending(pool, id, token).await,
            InvoiceDb::Sqlite(pool) => sqlite::mark_sending(pool, id, token).await,
            InvoiceDb::MariaDb(pool) => mariadb::mark_sending(pool, id, token).await,
        }
    }

    /// Fenced, in one transaction: marks the invoice sent with the provider's
    /// charge id and completes the job attempt `fence`. Either both happen or neither.
    pub async fn mark_sent_and_complete(
        &self,
        id: i64,
        charge_id: &str,
        fence: Fence,
    ) -> Result<Fenced, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => {
                postgres::mark_sent_and_complete(pool, id, charge_id, fence).await
            }
            InvoiceDb::Sqlite(pool) => {
                sqlite::mark_sent_and_complete(pool, id, charge_id, fence).await
            }
            InvoiceDb::MariaDb(pool) => {
                mariadb::mark_sent_and_complete(pool, id, charge_id, fence).await
            }
        }
    }

    /// Fenced: the provider refused the charge for good.
    pub async fn mark_failed(&self, id: i64, token: i64, reason: &str) -> Result<Fenced, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::mark_failed(pool, id, token, reason).await,
            InvoiceDb::Sqlite(pool) => sqlite::mark_failed(pool, id, token, reason).await,
            InvoiceDb::MariaDb(pool) => mariadb::mark_failed(pool, id, token, reason).await,
        }
    }

    /// Counts by status.
    pub async fn status_counts(&self) -> Result<Vec<(String, i64)>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::status_counts(pool).await,
            InvoiceDb::Sqlite(pool) => sqlite::status_counts(pool).await,
            InvoiceDb::MariaDb(pool) => mariadb::status_counts(pool).await,
        }
    }

    /// `(id, status, provider_charge_id)` of every invoice.
    pub async fn all(&self) -> Result<Vec<(i64, String, Option<String>)>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::all(pool).await,
            InvoiceDb::Sqlite(pool) => sqlite::all(pool).await,
            InvoiceDb::MariaDb(pool) => mariadb::all(pool).await,
        }
    }

    /// The post's starting point: pending invoices due within `days`.
    pub async fn naive_pending(&self, days: i32) -> Result<Vec<i64>, DbError> {
        match self {
            InvoiceDb::Postgres(pool) => {
                postgres::ids(pool, include_str!("postgres/sql/naive_pending.sql"), days).await
            }
            InvoiceDb::Sqlite(pool) => {
                sqlite::ids(pool, include_str!("sqlite/sql/naive_pending.sql"), days).await
            }
            InvoiceDb::MariaDb(pool) => {
                mariadb::ids(pool, include_str!("mariadb/sql/naive_pending.sql"), days).await
            }
        }
    }

    /// The post's starting point: marks sent unconditionally.
    pub async fn naive_mark_sent(&self, id: i64, charge_id: &str) -> Result<(), DbError> {
        match self {
            InvoiceDb::Postgres(pool) => postgres::naive_mark_sent(pool, id, charge_id).await,
            InvoiceDb::Sqlite(pool) => sqlite::naive_mark_sent(pool, id, charge_id).await,
            InvoiceDb::MariaDb(pool) => mariadb::naive_mark_sent(pool, id, charge_id).await,
        }
    }

    /// The PostgreSQL pool, for the `nowait` strategy (row locks).
    pub fn postgres_pool(&self) -> Result<&sqlx::PgPool, DbError> {
        match self {
            InvoiceDb::Postgres(pg) => Ok(&pg.pool),
            InvoiceDb::Sqlite(_) | InvoiceDb::MariaDb(_) => Err(DbError::Unsupported(
                "the nowait strategy needs PostgreSQL row locks (SELECT ... FOR UPDATE NOWAIT); \
                 SQLite locks the whole database. Use --database-url postgres://...",
            )),
        }
    }
}
