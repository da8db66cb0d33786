//! `oncely` against MariaDB: `oncely migrate` creates the schema and the SQL
//! API; commands that need the worker driver say it is not finished yet.

use oncely_testkit::MariaDb;

use super::support::oncely;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_schema_and_other_commands_say_what_is_missing() {
    let url = MariaDb::fresh_database().await;
    let out = oncely(&url, &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("migrated schema from version 0"), "{said}");
    let again = oncely(&url.replacen("mysql://", "mariadb://", 1), &["migrate"]);
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("schema is current"));
    let out = oncely(&url, &["queues"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not finished yet"), "{stderr}");
}
