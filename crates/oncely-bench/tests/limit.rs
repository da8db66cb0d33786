//! The limit script (`bench/limit/run.sh`) runs every table shape end to end
//! on the current migrations and finishes every job it was given (tiny sizes:
//! this checks the SQL of each shape, it measures nothing).

use std::path::Path;
use std::process::Command;

/// Runs the limit script on `shape` with `jobs` jobs; its rows as
/// (batch, jobs finished).
fn limit(shape: &str, jobs: u32) -> Vec<(u32, u32)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/limit/run.sh");
    let jobs = jobs.to_string();
    let out = Command::new("bash")
        .arg(&script)
        .arg(oncely_testkit::postgres_server())
        .args(["--jobs", &jobs, "--clients", "2", "--batch", "50"])
        .args(["--batch", "120", "--shape", shape])
        .output()
        .expect("running bash (bench/limit/run.sh needs bash, psql and pgbench)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench/limit/run.sh --shape {shape} failed (it needs psql and pgbench: \
         apt-get install postgresql):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 6, "a row of six columns: {line:?}");
            let cpu: f64 = fields[5]
                .parse()
                .unwrap_or_else(|e| panic!("the CPU column of {line:?}: {e}"));
            assert!(
                cpu.is_finite() && cpu >= 0.0,
                "machine CPU per job: {line:?}"
            );
            let number = |i: usize| -> u32 {
                fields[i]
                    .parse()
                    .unwrap_or_else(|e| panic!("column {i} of {line:?}: {e}"))
            };
            (number(0), number(1))
        })
        .collect()
}

#[test]
fn every_shape_of_the_limit_finishes_every_job_in_each_batch_size() {
    for shape in ["oncely", "archive", "floor", "hot", "bound"] {
        let rows = limit(shape, 700);
        assert_eq!(
            rows,
            vec![(50, 700), (120, 700)],
            "--shape {shape}: one row per batch size, each finishing all 700 jobs"
        );
    }
}

#[test]
fn an_unknown_shape_is_refused_with_the_shapes_it_knows() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/limit/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args([
            "postgres://nobody@127.0.0.1:1/postgres",
            "--shape",
            "partitioned",
        ])
        .output()
        .expect("running bash");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("oncely, floor, archive, hot or bound"),
        "names the shapes: {stderr}"
    );
}
