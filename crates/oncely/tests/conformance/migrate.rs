//! Migrations: idempotent, versioned, and a newer schema is refused.

use oncely::Error;
use oncely_testkit::{Backend, TestDb};

both!(second_migrate_is_a_no_op);
async fn second_migrate_is_a_no_op(db: TestDb) {
    let store = db.store().await;
    let again = store.migrate().await.expect("migrate again");
    assert!(again.applied.is_empty(), "nothing applied: {again:?}");
    assert_eq!(again.from, again.to);
    assert!(again.to >= 1);
    store.check_schema().await.expect("schema current");
}

both!(newer_schema_is_refused);
async fn newer_schema_is_refused(db: TestDb) {
    db.exec("INSERT INTO oncely_schema_migrations (version, name) VALUES (999, 'future')")
        .await;
    let store = db.store().await;
    assert!(matches!(
        store.migrate().await,
        Err(Error::SchemaTooNew { found: 999, .. })
    ));
    assert!(matches!(
        store.check_schema().await,
        Err(Error::SchemaTooNew { found: 999, .. })
    ));
}

async fn fresh(backend: Backend) {
    let db = match backend {
        Backend::Postgres => TestDb::postgres_unmigrated().await,
        Backend::Sqlite => TestDb::sqlite_unmigrated(),
        Backend::MariaDb => TestDb::mariadb_unmigrated().await,
    };
    let store = db.store().await;
    assert!(matches!(
        store.check_schema().await,
        Err(Error::SchemaTooOld { found: 0, .. })
    ));
    let report = store.migrate().await.expect("migrate");
    assert_eq!(report.from, 0);
    assert!(!report.applied.is_empty());
    store.check_schema().await.expect("current after migrate");
}

#[tokio::test]
async fn unmigrated_postgres_is_reported_then_migrated() {
    fresh(Backend::Postgres).await
}

#[tokio::test]
async fn unmigrated_sqlite_is_reported_then_migrated() {
    fresh(Backend::Sqlite).await
}

#[tokio::test]
async fn unmigrated_mariadb_is_reported_then_migrated() {
    fresh(Backend::MariaDb).await
}
