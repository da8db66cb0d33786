//! Running statements behind a connection pooler in transaction mode
//! (PgBouncer `pool_mode = transaction`), where consecutive transactions of
//! one client connection may run on different server connections.
//!
//! Two things break there: a named prepared statement (prepared on one
//! server connection, executed on another), and the unnamed statement sqlx
//! uses otherwise, which it parses and executes in two protocol round trips
//! (each ending a transaction, so each may land elsewhere). So, with
//! [`Mode::Transaction`]: every statement is unnamed
//! ([`On`] for the pool, [`In`] for a connection or transaction), and every statement outside an explicit
//! transaction runs in one of its own ([`On`], [`Held`]), which pins it to
//! one server connection. With [`Mode::Direct`] everything runs as before.
//!
//! Invariant: in transaction mode no statement relies on session state
//! (prepared statements, LISTEN, session advisory locks, `SET` without
//! `LOCAL`) surviving the end of its transaction.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use sqlx::postgres::{PgArguments, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, PgPool, Postgres};

/// How oncely reaches PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Straight to the server, or through a pooler in session mode.
    #[default]
    Direct,
    /// Through a pooler in transaction mode (URL `?pooler=transaction`).
    Transaction,
}

/// A statement that is never prepared under a name.
struct Unnamed<E>(E);

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Unnamed<E> {
    fn sql(self) -> sqlx::SqlStr {
        self.0.sql()
    }

    fn statement(&self) -> Option<&PgStatement> {
        None
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, sqlx::error::BoxDynError> {
        self.0.take_arguments()
    }

    fn persistent(&self) -> bool {
        false
    }
}

/// The pool as an executor (for an application's own statements on
/// oncely's pool, see [`super::PgDriver::on`]): as it is in direct mode; in transaction mode each
/// statement unnamed, in a transaction of its own.
#[derive(Debug, Clone, Copy)]
pub struct On<'a> {
    /// The pool.
    pub pool: &'a PgPool,
    /// How statements run on it.
    pub mode: Mode,
}

impl<'a> Executor<'a> for On<'a> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.mode == Mode::Direct {
            return self.pool.fetch_many(query);
        }
        let pool = self.pool.clone();
        futures_util::stream::once(async move {
            let mut tx = pool.begin().await?;
            let items: Vec<_> = (&mut *tx).fetch_many(Unnamed(query)).try_collect().await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(futures_util::stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.mode == Mode::Direct {
            return self.pool.fetch_optional(query);
        }
        let pool = self.pool.clone();
        async move {
            let mut tx = pool.begin().await?;
            let row = (&mut *tx).fetch_optional(Unnamed(query)).await?;
            tx.commit().await?;
            Ok(row)
        }
        .boxed()
    }

    fn prepare_with<'e>(
        self,
        sql: sqlx::SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'a: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }
}

/// A connection (or transaction) as an executor: in transaction mode every
/// statement on it unnamed.
#[derive(Debug)]
pub struct In<'c>(pub &'c mut PgConnection, pub Mode);

impl<'c> Executor<'c> for In<'c> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        match self.1 {
            Mode::Direct => self.0.fetch_many(query),
            Mode::Transaction => self.0.fetch_many(Unnamed(query)),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        match self.1 {
            Mode::Direct => self.0.fetch_optional(query),
            Mode::Transaction => self.0.fetch_optional(Unnamed(query)),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: sqlx::SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        self.0.prepare_with(sql, parameters)
    }
}

/// A connection held for several statements: a plain pool connection in
/// direct mode, a transaction in transaction mode (so that they all run on
/// one server connection). [`Held::done`] commits it.
pub(crate) enum Held {
    Conn(sqlx::pool::PoolConnection<Postgres>),
    Tx(sqlx::Transaction<'static, Postgres>),
}

impl Held {
    /// Takes a connection from `pool` as `mode` needs it.
    pub(crate) async fn take(pool: &PgPool, mode: Mode) -> Result<Held, sqlx::Error> {
        Ok(match mode {
            Mode::Direct => Held::Conn(pool.acquire().await?),
            Mode::Transaction => Held::Tx(pool.begin().await?),
        })
    }

    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        match self {
            Held::Conn(c) => c,
            Held::Tx(t) => t,
        }
    }

    /// Ends the use: commits the transaction mode's transaction.
    pub(crate) async fn done(self) -> Result<(), sqlx::Error> {
        match self {
            Held::Conn(_) => Ok(()),
            Held::Tx(t) => t.commit().await,
        }
    }
}

/// What the URL says about a pooler, taken out of it (sqlx does not know
/// these parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PoolerSettings {
    /// `pooler=transaction` (or `session`, the same as none).
    pub(crate) mode: Mode,
    /// `listen=HOST:PORT`: where LISTEN goes, straight to PostgreSQL (a
    /// transaction pooler cannot keep a LISTEN). Without it, in transaction
    /// mode workers poll.
    pub(crate) listen: Option<(String, u16)>,
}

/// Splits `pooler=` and `listen=` off `url`'s query string.
pub(crate) fn take_settings(url: &str) -> crate::Result<(String, PoolerSettings)> {
    let bad = |reason: String| crate::Error::BadUrl {
        url: super::hosts::redact(url),
        reason,
    };
    let Some((head, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), PoolerSettings::default()));
    };
    let mut settings = PoolerSettings::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pooler", "transaction")) => settings.mode = Mode::Transaction,
            Some(("pooler", "session" | "none")) => settings.mode = Mode::Direct,
            Some(("pooler", other)) => {
                return Err(bad(format!(
                    "pooler={other}: expected transaction, session or none"
                )))
            }
            Some(("listen", address)) => {
                let parsed = address
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                    .filter(|(h, _)| !h.is_empty());
                match parsed {
                    Some(hp) => settings.listen = Some(hp),
                    None => {
                        return Err(bad(format!(
                            "listen={address}: expected HOST:PORT of PostgreSQL itself"
                        )))
                    }
                }
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    Ok((url, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooler_settings_are_taken_out_of_the_url() {
        let (url, s) = take_settings(
            "postgres://u@b:6432/db?pooler=transaction&sslmode=disable&listen=db:5432",
        )
        .expect("parse");
        assert_eq!(url, "postgres://u@b:6432/db?sslmode=disable");
        assert_eq!(s.mode, Mode::Transaction);
        assert_eq!(s.listen, Some(("db".to_owned(), 5432)));
        let (url, s) = take_settings("postgres://u@h/db").expect("plain");
        assert_eq!(
            (url.as_str(), s),
            ("postgres://u@h/db", PoolerSettings::default())
        );
        assert!(take_settings("postgres://h/db?pooler=statement").is_err());
        assert!(take_settings("postgres://h/db?listen=nowhere").is_err());
    }
}
