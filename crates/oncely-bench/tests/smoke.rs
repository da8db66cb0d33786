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
