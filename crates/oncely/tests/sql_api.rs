//! The SQL API (`docs/sql-api.md`) on PostgreSQL: `oncely_enqueue` inside
//! the caller's transaction (the job exists if and only if it commits, and
//! is announced then), unique keys, the same checks and messages as the
//! library's insert (SQLSTATE `OY001`), a role with only `EXECUTE`, and no
//! way to widen what a worker runs.

#[path = "runtime/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use oncely::kinds::allowed::AllowedPrograms;
use oncely::kinds::command::{CommandWorker, KIND as COMMAND};
use oncely::{Client, JobState, NewJob};
use oncely_testkit::{Backend, TestDb};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};

use support::{eventually, fast_config, state_of};

async fn connect(db: &TestDb) -> PgConnection {
    PgConnection::connect(&db.url).await.expect("connect")
}

/// A migrated PostgreSQL database and a store on it.
async fn database() -> (TestDb, oncely::Store) {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    (db, store)
}

async fn job_state(conn: &mut PgConnection, id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT oncely_job_state($1)")
        .bind(id)
        .fetch_one(conn)
        .await
        .expect("oncely_job_state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_exists_if_and_only_if_the_callers_transaction_commits() {
    let (db, store) = database().await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql("CREATE TABLE invoices (id bigserial PRIMARY KEY, amount int NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("app table");
    let mut listener = sqlx::postgres::PgListener::connect(&db.url)
        .await
        .expect("listener");
    listener.listen("oncely_jobs").await.expect("listen");

    // Rolled back: neither the invoice nor its job.
    let mut tx = conn.begin().await.expect("begin");
    let invoice: i64 =
        sqlx::query_scalar("INSERT INTO invoices (amount) VALUES (100) RETURNING id")
            .fetch_one(&mut *tx)
            .await
            .expect("invoice");
    let rolled_back: i64 = sqlx::query_scalar("SELECT oncely_enqueue('billing', 'send', $1)")
        .bind(json!({ "invoice": invoice }))
        .fetch_one(&mut *tx)
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    assert_eq!(job_state(&mut conn, rolled_back).await, None);

    // Committed: both, announced to listeners at commit.
    let mut tx = conn.begin().await.expect("begin");
    let invoice: i64 =
        sqlx::query_scalar("INSERT INTO invoices (amount) VALUES (200) RETURNING id")
            .fetch_one(&mut *tx)
            .await
            .expect("invoice");
    let committed: i64 = sqlx::query_scalar(
        "SELECT oncely_enqueue(queue => 'billing', kind => 'send', args => $1, max_attempts => 3, priority => 2)",
    )
    .bind(json!({ "invoice": invoice }))
    .fetch_one(&mut *tx)
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    let note = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("announced within 10 s")
        .expect("notification");
    assert_eq!(note.payload(), "billing");
    assert_eq!(
        job_state(&mut conn, committed).await.as_deref(),
        Some("available")
    );
    let row = store.job_get(committed).await.expect("get").expect("row");
    assert_eq!((row.max_attempts, row.priority), (3, 2));
    assert_eq!(row.args, json!({ "invoice": invoice }));
    assert!(
        !row.idempotency_key.is_empty(),
        "an idempotency key is made"
    );

    // An oncely worker runs it once.
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let client = Client::builder(store.clone())
        .queue("billing", 2)
        .config(fast_config())
        .register_fn("send", move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .expect("client");
    let running = client.start();
    eventually("the committed job completes", || async {
        state_of(&store, committed).await == JobState::Completed
    })
    .await;
    running.shutdown().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        job_state(&mut conn, committed).await.as_deref(),
        Some("completed")
    );
    let all = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(all.len(), 1, "the rolled-back job never existed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_unique_key_returns_the_existing_job() {
    let (db, store) = database().await;
    let mut conn = connect(&db).await;
    let enqueue = "SELECT oncely_enqueue('q', 'k', '{}', unique_key => 'invoice-7')";
    let first: i64 = sqlx::query_scalar(enqueue)
        .fetch_one(&mut conn)
        .await
        .expect("first");
    let again: i64 = sqlx::query_scalar(enqueue)
        .fetch_one(&mut conn)
        .await
        .expect("again");
    assert_eq!(first, again);
    // The library sees the same key as taken.
    let outcome = store
        .job_insert(&NewJob::new("q", "k", json!({})).with_unique_key("invoice-7"))
        .await
        .expect("library insert");
    assert!(!outcome.inserted);
    assert_eq!(outcome.job.id, first);
    // Once the holder is final, the key is free again.
    let by = oncely::store::Decision::new("test", "free the key").expect("decision");
    store.job_cancel(first, &by).await.expect("cancel");
    let next: i64 = sqlx::query_scalar(enqueue)
        .fetch_one(&mut conn)
        .await
        .expect("next");
    assert_ne!(next, first);
    // Scheduled for later.
    let later: i64 = sqlx::query_scalar(
        "SELECT oncely_enqueue('q', 'k', '[]', run_at => now() + interval '1 hour')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("later");
    assert_eq!(
        job_state(&mut conn, later).await.as_deref(),
        Some("scheduled")
    );
}

/// The SQLSTATE and message of a failed call.
async fn refusal(conn: &mut PgConnection, sql: &str, args: Option<Value>) -> (String, String) {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(args) = args {
        query = query.bind(args);
    }
    let error = query.fetch_one(conn).await.expect_err("refused");
    let db = error.as_database_error().expect("a database error");
    (
        db.code().map(|c| c.into_owned()).unwrap_or_default(),
        db.message().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_gets_the_librarys_message_and_inserts_nothing() {
    let (db, store) = database().await;
    let mut conn = connect(&db).await;
    let huge = json!({ "blob": "x".repeat(oncely::job::MAX_ARGS_BYTES) });
    // (SQL, args bound as $1, the same job built for the library).
    let cases: Vec<(&str, Option<Value>, NewJob)> = vec![
        (
            "SELECT oncely_enqueue('a b', 'k')",
            None,
            NewJob::new("a b", "k", json!({})),
        ),
        (
            "SELECT oncely_enqueue('q', 'drop table')",
            None,
            NewJob::new("q", "drop table", json!({})),
        ),
        (
            "SELECT oncely_enqueue('q', 'k', '\"text\"')",
            None,
            NewJob::new("q", "k", json!("text")),
        ),
        (
            "SELECT oncely_enqueue('q', 'k', '{}', priority => 12)",
            None,
            NewJob::new("q", "k", json!({})).with_priority(12),
        ),
        (
            "SELECT oncely_enqueue('q', 'k', '{}', max_attempts => 0)",
            None,
            NewJob::new("q", "k", json!({})).with_max_attempts(0),
        ),
        (
            "SELECT oncely_enqueue('q', 'k', '{}', unique_key => '')",
            None,
            NewJob::new("q", "k", json!({})).with_unique_key(""),
        ),
        (
            "SELECT oncely_enqueue('q', 'k', $1)",
            Some(huge.clone()),
            NewJob::new("q", "k", huge),
        ),
    ];
    for (sql, args, job) in cases {
        let expected = job.validate().expect_err("the library refuses it too");
        let (code, message) = refusal(&mut conn, sql, args).await;
        assert_eq!(code, "OY001", "{sql}: {message}");
        // The size differs only in how the JSON is spelled out; the rest is
        // the library's message word for word.
        match expected {
            oncely::ValidationError::ArgsTooLarge { limit, .. } => {
                assert!(
                    message.ends_with(&format!("over the limit of {limit} bytes")),
                    "{message}"
                )
            }
            other => assert_eq!(message, other.to_string(), "{sql}"),
        }
    }
    for (sql, expect) in [
        (
            "SELECT oncely_enqueue('q', 'command', '{\"argv\": []}')",
            "a command job needs a program",
        ),
        (
            "SELECT oncely_enqueue('q', 'command', '{\"argv\": [\"/bin/true\"], \"reconcile\": [\"\"]}')",
            "a reconcile program, when given, needs a name",
        ),
        (
            "SELECT oncely_enqueue('q', 'k', '{}', timeout_ms => 0)",
            "timeout must be positive",
        ),
        (
            "SELECT oncely_enqueue(NULL, 'k')",
            "queue name NULL is invalid",
        ),
    ] {
        let (code, message) = refusal(&mut conn, sql, None).await;
        assert_eq!(code, "OY001", "{sql}");
        assert!(message.contains(expect), "{sql}: {message}");
    }
    // NUL cannot reach a job: PostgreSQL's jsonb refuses it first.
    let (code, _) = refusal(
        &mut conn,
        "SELECT oncely_enqueue('q', 'k', '{\"a\": \"\\u0000\"}')",
        None,
    )
    .await;
    assert_eq!(code, "22P05", "untranslatable character");
    assert!(store
        .job_list(&Default::default())
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_only_execute_can_enqueue_and_nothing_else() {
    let (db, store) = database().await;
    let mut owner = connect(&db).await;
    let role = format!("oncely_app_{}", std::process::id());
    let database = db.url.rsplit('/').next().expect("database name").to_owned();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
         GRANT CONNECT ON DATABASE {database} TO {role};
         GRANT EXECUTE ON FUNCTION oncely_enqueue(text, text, jsonb, text, timestamptz, integer, integer, boolean, text, bigint),
                                   oncely_job_state(bigint) TO {role};"
    )))
    .execute(&mut owner)
    .await
    .expect("role");
    let app_url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(app_url, db.url, "the test URL names its user");
    let mut app = PgConnection::connect(&app_url).await.expect("app connects");
    let id: i64 = sqlx::query_scalar("SELECT oncely_enqueue('q', 'k', '{\"n\": 1}')")
        .fetch_one(&mut app)
        .await
        .expect("enqueue with EXECUTE only");
    assert_eq!(job_state(&mut app, id).await.as_deref(), Some("available"));
    for sql in [
        "SELECT count(*) FROM oncely_jobs",
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
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{sql}: insufficient privilege"
        );
    }
    // A role without the grant cannot call it.
    let stranger = format!("oncely_stranger_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP ROLE IF EXISTS {stranger}; CREATE ROLE {stranger} LOGIN;"
    )))
    .execute(&mut owner)
    .await
    .expect("role");
    let mut other =
        PgConnection::connect(&db.url.replacen("postgres@", &format!("{stranger}@"), 1))
            .await
            .expect("stranger connects");
    let error = sqlx::query("SELECT oncely_enqueue('q', 'k')")
        .execute(&mut other)
        .await
        .expect_err("no EXECUTE");
    assert_eq!(
        error.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501")
    );
    drop((app, other));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP OWNED BY {role}; DROP ROLE {role}; DROP ROLE {stranger};"
    )))
    .execute(&mut owner)
    .await
    .expect("cleanup");
    assert_eq!(
        store
            .job_list(&Default::default())
            .await
            .expect("list")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_api_cannot_widen_what_a_worker_runs() {
    let (db, store) = database().await;
    let mut conn = connect(&db).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let args = json!({
        "argv": ["/usr/bin/env", "sh", "-c", format!("echo ran >> {}", marker.display())],
        "env": { "PATH": "/usr/bin:/bin" },
    });
    let id: i64 = sqlx::query_scalar("SELECT oncely_enqueue('q', 'command', $1)")
        .bind(&args)
        .fetch_one(&mut conn)
        .await
        .expect("enqueue");
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register(
            COMMAND,
            CommandWorker::new(AllowedPrograms::only(["/usr/bin/sh", "/bin/sh"]).expect("list")),
        )
        .build()
        .expect("client");
    let running = client.start();
    eventually("refused", || async {
        state_of(&store, id).await == JobState::Discarded
    })
    .await;
    running.shutdown().await;
    let job = store.job_get(id).await.expect("get").expect("row");
    assert!(
        job.errors[0]
            .error
            .contains("is not allowed on this worker"),
        "{:?}",
        job.errors
    );
    assert!(!marker.exists(), "the program never ran");
    // A reconcile program makes the job reconcilable, as in the library.
    let id: i64 = sqlx::query_scalar(
        "SELECT oncely_enqueue('q', 'command', '{\"argv\": [\"/bin/true\"], \"reconcile\": [\"/bin/true\"]}')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("enqueue");
    let row = sqlx::query("SELECT reconcilable FROM oncely_jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("row");
    assert!(row.get::<bool, _>("reconcilable"));
}
