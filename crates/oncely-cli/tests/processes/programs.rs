//! `oncely worker --allow-program`: a worker runs only the programs its own
//! flags allow, whatever the job rows say; the others are discarded, the
//! reason recorded.

use oncely::JobState;
use oncely_testkit::{Backend, TestDb};

use super::support::{eventually, oncely, state_of, WorkerProcess};

fn enqueued_id(url: &str, argv: &[&str]) -> i64 {
    let mut args = vec!["enqueue", "--queue", "q", "--"];
    args.extend_from_slice(argv);
    let out = oncely(url, &args);
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("enqueue prints the id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_only_the_programs_it_allows() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let script = |tag: &str| format!("echo {tag} >> {}", marker.display());
    let allowed = enqueued_id(&db.url, &["sh", "-c", &script("sh")]);
    let refused = enqueued_id(&db.url, &["/usr/bin/env", "sh", "-c", &script("env")]);
    let mut worker = WorkerProcess::start(
        &db.url,
        &[
            "--queues",
            "q=2",
            "--poll-interval-ms",
            "100",
            "--allow-program",
            "/usr/bin/sh",
            "--allow-program",
            "/bin/sh",
        ],
        &[],
    );
    eventually("both jobs are final", 30, || async {
        state_of(&store, allowed).await.is_final() && state_of(&store, refused).await.is_final()
    })
    .await;
    worker.signal("TERM");
    assert!(worker.wait_exit().success());
    assert_eq!(state_of(&store, allowed).await, JobState::Completed);
    let job = store.job_get(refused).await.expect("get").expect("row");
    assert_eq!(job.state, JobState::Discarded);
    assert!(
        job.errors[0]
            .error
            .contains("\"/usr/bin/env\" is not allowed on this worker"),
        "{:?}",
        job.errors
    );
    let ran = std::fs::read_to_string(&marker).expect("the allowed job ran");
    assert_eq!(ran.trim(), "sh", "only the allowed program ran");
}
