//! The benchmark command runs end to end on both backends and reports every
//! scenario (tiny sizes: this checks the tool, it measures nothing).

use std::process::Command;

#[test]
fn reports_every_scenario_on_both_backends() {
    let out = Command::new(env!("CARGO_BIN_EXE_oncely-bench"))
        .args([
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
            "--format",
            "json",
        ])
        .output()
        .expect("running oncely-bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 8, "4 scenarios x 2 backends: {report}");
    for row in rows {
        assert!(row["jobs_per_sec"].as_f64().expect("rate") > 0.0, "{row}");
    }
    let latency = rows
        .iter()
        .filter_map(|r| r["latency"]["p99_ms"].as_f64())
        .count();
    assert_eq!(latency, 2, "one latency row per backend: {report}");
}
