//! `oncely` against MariaDB: migrate, enqueue, a worker process running a
//! `command` job once, the listings.

use oncely::JobState;
use oncely_testkit::MariaDb;

use super::support::{eventually, oncely, state_of, WorkerProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_migrates_enqueues_and_runs_a_job_on_mariadb() {
    let url = MariaDb::fresh_database().await;
    let out = oncely(&url, &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("migrated schema from version 0"), "{said}");
    // mariadb:// names the same server.
    let again = oncely(&url.replacen("mysql://", "mariadb://", 1), &["migrate"]);
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("schema is current"));
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let script = format!("echo $ONCELY_JOB_ID >> {}", marker.display());
    let out = oncely(
        &url,
        &["enqueue", "--queue", "q", "--", "sh", "-c", &script],
    );
    assert!(out.status.success(), "{out:?}");
    let id: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("an id");
    let store = oncely::connect(&url).await.expect("connect");
    let mut worker =
        WorkerProcess::start(&url, &["--queues", "q=2", "--poll-interval-ms", "100"], &[]);
    eventually("the job completes", 30, || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    worker.signal("TERM");
    assert!(worker.wait_exit().success());
    let ran = std::fs::read_to_string(&marker).expect("ran");
    assert_eq!(ran.trim(), id.to_string(), "ran once");
    let out = oncely(&url, &["queues"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains('q'));
}
