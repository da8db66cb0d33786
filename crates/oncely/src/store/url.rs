//! Parsing of database URLs into a backend choice.

use crate::error::Error;

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, kept whole.
    Postgres(String),
    /// `mysql://…` or `mariadb://…`, kept whole.
    MariaDb(String),
    /// `sqlite://PATH`: the path of the database file (options after `?`
    /// are read by [`crate::store::sqlite::Durability::from_url`]).
    Sqlite(String),
}

impl DatabaseUrl {
    /// The default: the SQLite file `oncely.db` in the working directory.
    pub const DEFAULT: &'static str = "sqlite://oncely.db";

    /// Parses `postgres://…`, `postgresql://…`, `mysql://…`, `mariadb://…`
    /// or `sqlite://PATH`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            return Ok(DatabaseUrl::MariaDb(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(bad("sqlite:// needs a file path, as in sqlite://oncely.db"));
            }
            if path == ":memory:" {
                return Err(bad(
                    "in-memory SQLite cannot be shared between workers; use a file",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(path.to_owned()));
        }
        Err(bad(
            "expected postgres://…, postgresql://…, mysql://…, mariadb://… or sqlite://PATH",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_durability_is_full_unless_asked() {
        use crate::store::sqlite::Durability;
        assert_eq!(
            Durability::from_url("sqlite://a.db").unwrap(),
            Durability::Full
        );
        assert_eq!(
            Durability::from_url("sqlite://a.db?synchronous=normal").unwrap(),
            Durability::Normal
        );
        assert!(Durability::from_url("sqlite://a.db?synchronous=off").is_err());
        assert!(Durability::from_url("sqlite://a.db?cache=shared").is_err());
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite://oncely.db").unwrap(),
            DatabaseUrl::Sqlite("oncely.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/x.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/x.db".into())
        );
    }

    #[test]
    fn mysql_and_mariadb_urls_name_mariadb() {
        for url in ["mysql://u@h:3306/db", "mariadb://u@h/db"] {
            assert_eq!(
                DatabaseUrl::parse(url).unwrap(),
                DatabaseUrl::MariaDb(url.into())
            );
        }
    }

    #[test]
    fn rejects_the_rest() {
        for bad in [
            "",
            "mongodb://x",
            "sqlite://",
            "sqlite://:memory:",
            "oncely.db",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
