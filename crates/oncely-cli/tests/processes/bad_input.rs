//! Bad input at the command line: a clear message, a non-zero exit, nothing written.

use oncely_testkit::{Backend, TestDb};

use super::support::oncely;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_writes_nothing() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let huge_file = dir.path().join("huge.json");
    std::fs::write(
        &huge_file,
        format!(
            "{{\"blob\": \"{}\"}}",
            "x".repeat(oncely::job::MAX_ARGS_BYTES)
        ),
    )
    .expect("write");
    let huge = huge_file.display().to_string();
    // Over twice the limit: refused for its size, not as "invalid JSON".
    let giant_file = dir.path().join("giant.json");
    std::fs::write(
        &giant_file,
        format!(
            "{{\"blob\": \"{}\"}}",
            "x".repeat(3 * oncely::job::MAX_ARGS_BYTES)
        ),
    )
    .expect("write");
    let giant = giant_file.display().to_string();
    let long_queue = "q".repeat(129);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["enqueue", "--kind", "k", "--args", "{not json"],
            "not valid JSON",
        ),
        (
            vec![
                "enqueue",
                "--queue",
                "bad queue",
                "--kind",
                "k",
                "--args",
                "{}",
            ],
            "queue name",
        ),
        (
            vec![
                "enqueue",
                "--queue",
                &long_queue,
                "--kind",
                "k",
                "--args",
                "{}",
            ],
            "queue name",
        ),
        (
            vec!["enqueue", "--kind", "k", "--args", "42"],
            "object or array",
        ),
        (
            vec!["enqueue", "--kind", "k", "--args-file", &huge],
            "over the limit",
        ),
        (
            vec!["enqueue", "--kind", "k", "--args-file", &giant],
            "job args are limited to 1048576 bytes",
        ),
        (
            vec![
                "enqueue",
                "--kind",
                "k",
                "--args",
                r#"{"name": "a\u0000b"}"#,
            ],
            "NUL character",
        ),
        (
            vec![
                "schedule",
                "add",
                "big",
                "--every",
                "18446744073709551615",
                "--",
                "true",
            ],
            "too long",
        ),
        (
            vec!["enqueue", "--kind", "k", "--args-file", "/no/such/file"],
            "cannot read",
        ),
        (
            vec![
                "enqueue",
                "--kind",
                "k",
                "--args",
                "{}",
                "--args-file",
                &huge,
            ],
            "cannot be used with",
        ),
        (
            vec!["enqueue", "--kind", "k", "--args", "{}", "--priority", "12"],
            "priority",
        ),
        (
            vec![
                "enqueue", "--kind", "k", "--args", "{}", "--run-at", "tomorrow",
            ],
            "RFC 3339",
        ),
        (vec!["enqueue", "--kind", "k"], "--kind needs --args"),
        (
            vec!["enqueue", "--kind", "k", "--args", "{}", "--", "echo"],
            "cannot be combined",
        ),
        (
            vec![
                "enqueue",
                "--kind",
                "k",
                "--args",
                "{}",
                "--reconcile-with",
                "check",
            ],
            "for command jobs",
        ),
        (
            vec!["enqueue", "--reconcile-arg", "x", "--", "echo"],
            "--reconcile-with",
        ),
        (
            vec!["enqueue", "--reconcile-with", "", "--", "echo"],
            "reconcile program",
        ),
        (vec!["worker", "--queues", "q=0"], "positive concurrency"),
        (vec!["worker"], "--allow-program PATH"),
        (
            vec!["worker", "--allow-program", "bin/*"],
            "must be an absolute path",
        ),
        (
            vec!["worker", "--allow-program", "/x", "--allow-any-program"],
            "cannot be used with",
        ),
        (vec!["jobs", "list", "--state", "done"], "unknown job state"),
        (vec!["jobs", "show", "12345"], "not found"),
    ];
    for (args, expect) in cases {
        let out = oncely(&db.url, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains(expect),
            "{args:?}: stderr {stderr:?} lacks {expect:?}"
        );
    }
    let store = db.store().await;
    assert!(store
        .job_list(&Default::default())
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmigrated_database_says_to_migrate() {
    let db = TestDb::sqlite_unmigrated();
    let out = oncely(&db.url, &["queues"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `oncely migrate`"));
    let out = oncely(&db.url, &["migrate"]);
    assert!(out.status.success());
    let out = oncely(&db.url, &["migrate"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema is current"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_prints_the_id_and_dedupes_unique_keys() {
    let db = TestDb::new(Backend::Sqlite).await;
    let first = oncely(
        &db.url,
        &[
            "enqueue",
            "--kind",
            "k",
            "--args",
            "{}",
            "--unique-key",
            "u",
        ],
    );
    let second = oncely(
        &db.url,
        &[
            "enqueue",
            "--kind",
            "k",
            "--args",
            "{}",
            "--unique-key",
            "u",
        ],
    );
    assert!(first.status.success() && second.status.success());
    let id = String::from_utf8_lossy(&first.stdout).trim().to_owned();
    assert!(id.parse::<i64>().is_ok(), "prints an id: {id:?}");
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), id);
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_doubt_jobs_are_listed_and_resolved_by_a_person() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let job = oncely::NewJob::new("q", "k", serde_json::json!({})).at_most_once();
    let id = store.job_insert(&job).await.expect("insert").job.id;
    let claim = oncely::store::ClaimParams {
        queue: "q".into(),
        kinds: vec!["k".into()],
        limit: 1,
        lease: std::time::Duration::from_secs(30),
        worker_id: "w".into(),
    };
    store.job_claim(&claim).await.expect("claim");
    db.expire_leases().await;
    store.job_rescue_expired(10).await.expect("rescue");
    let list = oncely(
        &db.url,
        &["jobs", "list", "--state", "in_doubt", "--format", "json"],
    );
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(listed.as_array().map(|a| a.len()), Some(1));
    let id = id.to_string();
    let bad = oncely(
        &db.url,
        &["jobs", "resolve", &id, "--as", "maybe", "--reason", "x"],
    );
    assert!(!bad.status.success());
    let out = oncely(
        &db.url,
        &[
            "jobs",
            "resolve",
            &id,
            "--as",
            "completed",
            "--reason",
            "charge ch_9 found",
            "--by",
            "ana",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_slice(&oncely(&db.url, &["jobs", "show", &id]).stdout).expect("json");
    assert_eq!(shown["state"], "completed");
    let last = shown["errors"]
        .as_array()
        .and_then(|e| e.last())
        .expect("note");
    assert_eq!(
        last["error"],
        "resolved as completed by ana: charge ch_9 found"
    );
    assert!(last["at"].is_string(), "when it was decided");
    let again = oncely(
        &db.url,
        &["jobs", "resolve", &id, "--as", "retry", "--reason", "x"],
    );
    assert!(!again.status.success(), "only in-doubt jobs are resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_every_listing_quietly() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    store
        .job_insert(&oncely::NewJob::new("q", "k", serde_json::json!({})))
        .await
        .expect("insert");
    for args in [
        vec!["jobs", "list"],
        vec!["jobs", "show", "1"],
        vec!["queues"],
        vec!["schedule", "list"],
        vec!["migrate"],
    ] {
        let mut child = std::process::Command::new(super::support::BIN)
            .args(&args)
            .env("ONCELY_DATABASE_URL", &db.url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader goes away before anything is written (`| head -0`).
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_fast_saying_where_and_why() {
    // Nothing listens: refused at once.
    let started = std::time::Instant::now();
    let out = oncely("postgres://postgres@127.0.0.1:1/app", &["queues"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // A server that never answers (a stalled network).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    let proxy = oncely_testkit::StallProxy::start(addr).await;
    proxy.stall();
    let url = format!("postgres://postgres@{}/app", proxy.addr());
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || oncely(&url, &["queues"]))
        .await
        .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot connect to PostgreSQL at {}", proxy.addr()))
            && stderr.contains("no answer within 5 s"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}
