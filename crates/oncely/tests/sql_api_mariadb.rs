//! The SQL API on MariaDB (`docs/sql-api.md`): migrations (concurrent, and
//! again after being cut short), `oncely_enqueue` inside the caller's
//! transaction (the job exists if and only if it commits), unique keys, the
//! same checks and messages as the library's insert (SQLSTATE `OY001`), and
//! a user with only `EXECUTE`. MariaDB comes from the test kit's throwaway
//! server (`mariadb-server`, installed by `scripts/test.sh`).

use oncely::store::mariadb;
use oncely::NewJob;
use oncely_testkit::MariaDb;
use serde_json::{json, Value};
use sqlx::{Connection, MySqlConnection};

async fn migrated() -> (String, MySqlConnection) {
    let url = MariaDb::fresh_database().await;
    let report = mariadb::migrate(&url).await.expect("migrate");
    assert_eq!(report.from, 0);
    assert_eq!(report.to, mariadb::MIGRATIONS.len() as i64);
    let conn = mariadb::connect_one(&url).await.expect("connect");
    (url, conn)
}

async fn enqueue(
    conn: &mut MySqlConnection,
    queue: &str,
    args: &Value,
    options: Option<Value>,
) -> i64 {
    sqlx::query_scalar("SELECT oncely_enqueue(?, 'send', ?, ?)")
        .bind(queue)
        .bind(args.to_string())
        .bind(options.map(|o| o.to_string()))
        .fetch_one(conn)
        .await
        .expect("enqueue")
}

async fn state(conn: &mut MySqlConnection, id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT oncely_job_state(?)")
        .bind(id)
        .fetch_one(conn)
        .await
        .expect("oncely_job_state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_take_turns_and_run_again_safely() {
    let url = MariaDb::fresh_database().await;
    let (a, b) = tokio::join!(mariadb::migrate(&url), mariadb::migrate(&url));
    let (a, b) = (a.expect("first"), b.expect("second"));
    let latest = mariadb::MIGRATIONS.len() as i64;
    // One applied everything; the other found it current.
    let mut applied = [a.applied.len(), b.applied.len()];
    applied.sort();
    assert_eq!(applied, [0, latest as usize]);
    assert_eq!((a.to, b.to), (latest, latest));
    mariadb::check_schema(&url).await.expect("current");
    // A migration cut short (its record lost) completes when run again.
    let mut conn = mariadb::connect_one(&url).await.expect("connect");
    sqlx::query("DELETE FROM oncely_schema_migrations WHERE version = ?")
        .bind(latest)
        .execute(&mut conn)
        .await
        .expect("forget the last migration");
    assert!(mariadb::check_schema(&url).await.is_err(), "seen as old");
    let again = mariadb::migrate(&url).await.expect("run again");
    assert_eq!(again.applied, vec![latest]);
    mariadb::check_schema(&url).await.expect("current again");
    // A newer schema than this binary knows is refused.
    sqlx::query("INSERT INTO oncely_schema_migrations VALUES (?, 'future', UTC_TIMESTAMP(6))")
        .bind(latest + 1)
        .execute(&mut conn)
        .await
        .expect("future");
    assert!(matches!(
        mariadb::migrate(&url).await,
        Err(oncely::Error::SchemaTooNew { .. })
    ));
    // The driver refuses it too.
    let store = oncely::connect(&url).await.expect("connect");
    assert!(matches!(
        store.check_schema().await,
        Err(oncely::Error::SchemaTooNew { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_exists_if_and_only_if_the_callers_transaction_commits() {
    let (url, mut conn) = migrated().await;
    sqlx::raw_sql("CREATE TABLE invoices (id BIGINT AUTO_INCREMENT PRIMARY KEY, amount INT NOT NULL) ENGINE = InnoDB")
        .execute(&mut conn)
        .await
        .expect("app table");
    let mut tx = conn.begin().await.expect("begin");
    sqlx::query("INSERT INTO invoices (amount) VALUES (100)")
        .execute(&mut *tx)
        .await
        .expect("invoice");
    let rolled_back = enqueue(&mut tx, "billing", &json!({"invoice": 1}), None).await;
    tx.rollback().await.expect("rollback");
    assert_eq!(state(&mut conn, rolled_back).await, None);

    let mut tx = conn.begin().await.expect("begin");
    sqlx::query("INSERT INTO invoices (amount) VALUES (200)")
        .execute(&mut *tx)
        .await
        .expect("invoice");
    let committed = enqueue(
        &mut tx,
        "billing",
        &json!({"invoice": 2}),
        Some(json!({"priority": 2, "max_attempts": 3, "at_most_once": true})),
    )
    .await;
    tx.commit().await.expect("commit");
    assert_eq!(
        state(&mut conn, committed).await.as_deref(),
        Some("available")
    );
    let (priority, max_attempts, at_most_once, args, key): (i16, i32, bool, String, String) =
        sqlx::query_as(
            "SELECT priority, max_attempts, at_most_once, args, idempotency_key FROM oncely_jobs WHERE id = ?",
        )
        .bind(committed)
        .fetch_one(&mut conn)
        .await
        .expect("row");
    assert_eq!((priority, max_attempts, at_most_once), (2, 3, true));
    assert_eq!(
        serde_json::from_str::<Value>(&args).expect("json"),
        json!({"invoice": 2})
    );
    assert!(!key.is_empty());
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oncely_jobs")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(jobs, 1, "the rolled-back job never existed");
    let invoices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(invoices, 1);
    // An oncely worker (polling: MariaDB has no notifications) runs it once.
    let store = oncely::connect(&url).await.expect("store");
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = runs.clone();
    let client = oncely::Client::builder(store.clone())
        .queue("billing", 2)
        .config(oncely::worker::ClientConfig {
            poll_interval: std::time::Duration::from_millis(100),
            ..Default::default()
        })
        .register_fn("send", move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .expect("client");
    let running = client.start();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while state(&mut conn, committed).await.as_deref() != Some("completed") {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never completed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.shutdown().await;
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "ran once"
    );
    // Scheduled for later (a UTC instant).
    let later = enqueue(
        &mut conn,
        "billing",
        &json!({}),
        Some(json!({"run_at": "2999-01-01 00:00:00"})),
    )
    .await;
    assert_eq!(state(&mut conn, later).await.as_deref(), Some("scheduled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_unique_key_returns_the_existing_job() {
    let (_url, mut conn) = migrated().await;
    let key = Some(json!({"unique_key": "invoice-7"}));
    let first = enqueue(&mut conn, "q", &json!({}), key.clone()).await;
    let again = enqueue(&mut conn, "q", &json!({}), key.clone()).await;
    assert_eq!(first, again);
    // Once the holder is final, the key is free again.
    sqlx::query(
        "UPDATE oncely_jobs SET state = 'cancelled', finalized_at = UTC_TIMESTAMP(6) WHERE id = ?",
    )
    .bind(first)
    .execute(&mut conn)
    .await
    .expect("cancel");
    let next = enqueue(&mut conn, "q", &json!({}), key).await;
    assert_ne!(next, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_gets_the_librarys_message_and_inserts_nothing() {
    let (_url, mut conn) = migrated().await;
    let huge = json!({ "blob": "x".repeat(oncely::job::MAX_ARGS_BYTES) });
    // (queue, kind, args, options, the same job for the library).
    let cases: Vec<(&str, &str, Value, Option<Value>, NewJob)> = vec![
        (
            "a b",
            "k",
            json!({}),
            None,
            NewJob::new("a b", "k", json!({})),
        ),
        (
            "q",
            "drop table",
            json!({}),
            None,
            NewJob::new("q", "drop table", json!({})),
        ),
        (
            "q",
            "k",
            json!("text"),
            None,
            NewJob::new("q", "k", json!("text")),
        ),
        (
            "q",
            "k",
            json!({}),
            Some(json!({"priority": 12})),
            NewJob::new("q", "k", json!({})).with_priority(12),
        ),
        (
            "q",
            "k",
            json!({}),
            Some(json!({"max_attempts": 0})),
            NewJob::new("q", "k", json!({})).with_max_attempts(0),
        ),
        (
            "q",
            "k",
            json!({}),
            Some(json!({"unique_key": ""})),
            NewJob::new("q", "k", json!({})).with_unique_key(""),
        ),
        ("q", "k", huge.clone(), None, NewJob::new("q", "k", huge)),
    ];
    for (queue, kind, args, options, job) in cases {
        let expected = job.validate().expect_err("the library refuses it too");
        let error = sqlx::query_scalar::<_, i64>("SELECT oncely_enqueue(?, ?, ?, ?)")
            .bind(queue)
            .bind(kind)
            .bind(args.to_string())
            .bind(options.map(|o| o.to_string()))
            .fetch_one(&mut conn)
            .await
            .expect_err("refused");
        let db = error.as_database_error().expect("a database error");
        assert_eq!(
            db.code().as_deref(),
            Some("OY001"),
            "{queue} {kind}: {}",
            db.message()
        );
        assert_eq!(db.message(), expected.to_string(), "{queue} {kind}");
    }
    for (args, options, expect) in [
        (json!({"argv": []}), None, "a command job needs a program"),
        (
            json!({"argv": ["/bin/true"], "reconcile": [""]}),
            None,
            "a reconcile program, when given, needs a name",
        ),
        (
            json!({"argv": ["/bin/true"]}),
            Some("[1]"),
            "options must be a JSON object",
        ),
        (
            json!({"argv": ["/bin/true"]}),
            Some("{\"run_at\": \"soon\"}"),
            "run_at must be a UTC time",
        ),
    ] {
        let error = sqlx::query_scalar::<_, i64>("SELECT oncely_enqueue('q', 'command', ?, ?)")
            .bind(args.to_string())
            .bind(options)
            .fetch_one(&mut conn)
            .await
            .expect_err("refused");
        let db = error.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("OY001"), "{}", db.message());
        assert!(db.message().contains(expect), "{}", db.message());
    }
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oncely_jobs")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(jobs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_only_execute_can_enqueue_and_nothing_else() {
    let (url, mut conn) = migrated().await;
    let database = url.rsplit('/').next().expect("database").to_owned();
    let user = format!("app_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP USER IF EXISTS '{user}'@'127.0.0.1';
         CREATE USER '{user}'@'127.0.0.1';
         GRANT EXECUTE ON FUNCTION {database}.oncely_enqueue TO '{user}'@'127.0.0.1';
         GRANT EXECUTE ON FUNCTION {database}.oncely_job_state TO '{user}'@'127.0.0.1';"
    )))
    .execute(&mut conn)
    .await
    .expect("user");
    let app_url = url.replacen("root@", &format!("{user}@"), 1);
    let mut app = mariadb::connect_one(&app_url).await.expect("app connects");
    let id = enqueue(&mut app, "q", &json!({"n": 1}), None).await;
    assert_eq!(state(&mut app, id).await.as_deref(), Some("available"));
    for sql in [
        "SELECT COUNT(*) FROM oncely_jobs",
        "UPDATE oncely_jobs SET state = 'completed'",
        "DELETE FROM oncely_jobs",
    ] {
        let error = sqlx::query(sql)
            .execute(&mut app)
            .await
            .expect_err("no rights on the table");
        let code = error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42000"), "{sql}: access denied");
    }
    let _ = app.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP USER '{user}'@'127.0.0.1'"
    )))
    .execute(&mut conn)
    .await
    .expect("cleanup");
}
