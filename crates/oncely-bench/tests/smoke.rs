//! The benchmark command runs end to end on both backends and reports every
//! scenario (tiny sizes: this checks the tool, it measures nothing).

use std::process::Command;

/// Runs oncely-bench with `args` (and `--format json`); its JSON report.
fn bench(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_oncely-bench"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("running oncely-bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[test]
fn reports_every_scenario_on_both_backends() {
    let report = bench(&[
        "--jobs",
        "200",
        "--clients",
        "2",
        "--concurrency",
        "5",
        "--latency-jobs",
        "40",
        "--latency-rate",
        "400",
    ]);
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(
        rows.len(),
        9,
        "4 scenarios x 2 backends, and SQLite's one-client drain: {report}"
    );
    for row in rows {
        assert!(row["jobs_per_sec"].as_f64().expect("rate") > 0.0, "{row}");
    }
    let latency = rows
        .iter()
        .filter_map(|r| r["latency"]["p99_ms"].as_f64())
        .count();
    assert_eq!(latency, 2, "one latency row per backend: {report}");
}

#[test]
fn the_churn_samples_throughput_and_size_over_time() {
    let report = bench(&[
        "--backend",
        "postgres",
        "--only",
        "churn",
        "--churn-secs",
        "4",
        "--churn-rate",
        "500",
        "--clients",
        "2",
        "--concurrency",
        "5",
    ]);
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{report}");
    let samples = rows[0]["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 20, "{report}");
    let completed: f64 = samples
        .iter()
        .map(|s| s["completed_per_sec"].as_f64().expect("rate"))
        .sum();
    assert!(
        completed > 0.0,
        "jobs were drained while enqueued: {report}"
    );
    assert!(
        samples.iter().all(|s| s["size_mib"].as_f64() > Some(0.0)),
        "{report}"
    );
}

/// Every database a run makes on the server it was given is dropped again
/// (left behind, each held a backlog and slowed later measurements).
#[test]
fn leaves_no_database_behind_on_the_server_it_was_given() {
    let server = oncely_testkit::postgres_server();
    let child = Command::new(env!("CARGO_BIN_EXE_oncely-bench"))
        .args(["--backend", "postgres", "--jobs", "100", "--clients", "1"])
        .args([
            "--concurrency",
            "4",
            "--latency-jobs",
            "10",
            "--latency-rate",
            "400",
        ])
        .args(["--format", "json"])
        .env("DATABASE_URL", &server)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running oncely-bench");
    let pid = child.id();
    let out = child.wait_with_output().expect("oncely-bench ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let rows = report["rows"].as_array().expect("rows").len();
    assert_eq!(
        rows, 4,
        "four scenarios ran, each on a database of its own: {report}"
    );
    let left: Vec<String> = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let pool = sqlx::PgPool::connect(&server).await.expect("connect");
            sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
                .bind(format!("oncely_test_{pid}_%"))
                .fetch_all(&pool)
                .await
                .expect("databases")
        });
    assert!(left.is_empty(), "left behind: {left:?}");
}
