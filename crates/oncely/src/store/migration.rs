//! Versioned migrations embedded in the binary, shared shape for every backend.
//!
//! Invariant: versions are dense from 1; a database recording a version above
//! the newest embedded one is refused, never "migrated down".

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// 1, 2, 3, ...
    pub version: i64,
    /// Short name, recorded with the version.
    pub name: &'static str,
    /// The SQL, possibly several statements.
    pub sql: &'static str,
}

/// What [`super::Driver::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Version before.
    pub from: i64,
    /// Version after.
    pub to: i64,
    /// Versions applied by this call (empty when already current).
    pub applied: Vec<i64>,
}

/// The newest version in `migrations`.
pub(crate) fn latest(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// `Ok` when the schema `found` is exactly `supported`; otherwise the error
/// that says which way it is off.
pub(crate) fn compare(found: i64, supported: i64) -> crate::Result<()> {
    match found.cmp(&supported) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(crate::Error::SchemaTooNew { found, supported }),
        std::cmp::Ordering::Less => Err(crate::Error::SchemaTooOld {
            found,
            needed: supported,
        }),
    }
}
