//! 4 worker processes drain 5,000 command jobs: each runs exactly once.

use std::collections::HashMap;
use std::time::Instant;

use oncely::kinds::command::CommandArgs;
use oncely::JobState;
use oncely_testkit::{Backend, TestDb};

use super::support::{count, eventually, WorkerProcess};

const JOBS: usize = 5_000;

async fn four_processes_drain(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let effects = dir.path().join("effects.log");
    let script = format!("echo $ONCELY_JOB_ID >> {}", effects.display());
    for _ in 0..JOBS {
        let job = CommandArgs::new_job("drain", vec!["sh".into(), "-c".into(), script.clone()])
            .expect("job");
        store.job_insert(&job).await.expect("insert");
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            WorkerProcess::start(
                &db.url,
                &["--queues", "drain=8", "--poll-interval-ms", "100"],
                &[],
            )
        })
        .collect();
    eventually("all jobs completed", 300, || async {
        count(&store, JobState::Completed).await == JOBS as i64
    })
    .await;
    let elapsed = started.elapsed();
    for mut w in workers {
        w.signal("TERM");
        assert!(w.wait_exit().success(), "worker exited cleanly");
    }
    let log = std::fs::read_to_string(&effects).expect("effects log");
    let mut runs: HashMap<&str, u32> = HashMap::new();
    for line in log.lines() {
        *runs.entry(line).or_default() += 1;
    }
    assert_eq!(runs.len(), JOBS, "every job's effect happened");
    let twice: Vec<_> = runs.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "effects ran more than once: {twice:?}");
    let counts = store.queue_counts().await.expect("counts");
    assert_eq!(counts.len(), 1, "only completed jobs remain: {counts:?}");
    println!(
        "{backend:?}: 4 worker processes ran {JOBS} command jobs in {elapsed:.2?} ({:.0} jobs/s)",
        JOBS as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_drain_5000_jobs_on_postgres() {
    four_processes_drain(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_drain_5000_jobs_on_sqlite() {
    four_processes_drain(Backend::Sqlite).await
}
