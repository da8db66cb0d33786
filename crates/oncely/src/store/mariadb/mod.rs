//! MariaDB 10.6+ / MySQL 8 (`mysql://` or `mariadb://` URLs): the schema and
//! the SQL API so far. The worker driver (claims, leases, fencing) is being
//! built on this schema (issue 13, `docs/mariadb.md`); until it lands,
//! [`crate::connect`] refuses these URLs with a message saying so, and
//! [`migrate`] (`oncely migrate`) creates the tables and the SQL functions
//! applications enqueue with.
//!
//! Invariants: migrations run under the server-wide named lock
//! `oncely_migrate` (`GET_LOCK`), so servers migrating at once take turns;
//! MariaDB commits each DDL statement on its own, so every statement of a
//! migration can run again, and a migration cut short completes on the next
//! run; a database recording a newer version than this binary knows is
//! refused.

mod driver;
mod migrations;
mod operator;
mod periodic;
mod rows;

use std::str::FromStr;

use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, MySqlConnection};

use crate::error::{Error, Result};
use crate::store::MigrationReport;

pub use driver::{complete_tx, insert_tx, MariaDbDriver};
pub use migrations::MIGRATIONS;

/// The URL as sqlx reads it: `mariadb://` is spelled `mysql://` there.
pub fn sqlx_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    }
}

/// How oncely connects to `url`: sqlx's options, in UTC.
pub(crate) fn connect_options(url: &str) -> Result<MySqlConnectOptions> {
    Ok(MySqlConnectOptions::from_str(&sqlx_url(url))
        .map_err(|e| Error::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?
        .timezone(Some("+00:00".into())))
}

/// A first connection to `url` that failed, without its password.
pub(crate) fn connect_error(url: &str, cause: sqlx::Error) -> Error {
    Error::Connect {
        backend: "MariaDB",
        address: redact(url),
        cause: cause.to_string(),
    }
}

/// One connection to the server at `url`, in UTC and strict mode.
pub async fn connect_one(url: &str) -> Result<MySqlConnection> {
    let mut conn = MySqlConnection::connect_with(&connect_options(url)?)
        .await
        .map_err(|e| connect_error(url, e))?;
    sqlx::raw_sql(include_str!("sql/session.sql"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Applies the missing migrations at `url`.
pub async fn migrate(url: &str) -> Result<MigrationReport> {
    let mut conn = connect_one(url).await?;
    let report = migrations::apply(&mut conn).await;
    let _ = conn.close().await;
    report
}

/// Fails unless the schema at `url` is at the newest version.
pub async fn check_schema(url: &str) -> Result<()> {
    let mut conn = connect_one(url).await?;
    let checked = migrations::check(&mut conn).await;
    let _ = conn.close().await;
    checked
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_urls_are_mysql_urls_to_sqlx_and_passwords_stay_out_of_messages() {
        assert_eq!(sqlx_url("mariadb://u@h/db"), "mysql://u@h/db");
        assert_eq!(sqlx_url("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(
            redact("mysql://app:s3cret@db:3306/x"),
            "mysql://app@db:3306/x"
        );
        assert_eq!(redact("mysql://db/x"), "mysql://db/x");
    }
}
