//! kill -9 and SIGTERM of worker processes; a worker with a skewed clock.

use oncely::kinds::command::CommandArgs;
use oncely::maintenance::rescuer::{Rescuer, RescuerConfig};
use oncely::{JobState, NewJob};
use oncely_testkit::{Backend, TestDb};

use super::support::{count, eventually, WorkerProcess};

/// A command job that sleeps on its first attempt and succeeds at once after.
fn slow_first_attempt() -> NewJob {
    CommandArgs::new_job(
        "q",
        vec![
            "sh".into(),
            "-c".into(),
            r#"if [ "$ONCELY_ATTEMPT" = 1 ]; then sleep 20; fi"#.into(),
        ],
    )
    .expect("job")
}

async fn kill_9_leaves_jobs_the_rescuer_recovers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            store
                .job_insert(&slow_first_attempt())
                .await
                .expect("insert")
                .job
                .id,
        );
    }
    let careful = store
        .job_insert(&slow_first_attempt().at_most_once())
        .await
        .expect("insert")
        .job
        .id;
    let victim = WorkerProcess::start(&db.url, &["--queues", "q=10", "--lease-secs", "1"], &[]);
    eventually("all six running", 60, || async {
        count(&store, JobState::Running).await == 6
    })
    .await;
    victim.signal("KILL");
    drop(victim);
    // Nobody heartbeats now: once the leases end the rescuer takes the jobs back.
    let rescuer = Rescuer::new(store.clone(), RescuerConfig::default());
    let mut rescued = oncely::store::RescueReport::default();
    for _ in 0..300 {
        let r = rescuer.run_once().await.expect("rescue");
        rescued.retried += r.retried;
        rescued.in_doubt += r.in_doubt;
        if rescued.total() == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (rescued.retried, rescued.in_doubt),
        (5, 1),
        "rescued after the leases ended"
    );
    assert_eq!(
        store
            .job_get(careful)
            .await
            .expect("get")
            .expect("row")
            .state,
        JobState::InDoubt
    );
    // A new worker finishes the retryable ones on their second attempt.
    let mut next = WorkerProcess::start(
        &db.url,
        &["--queues", "q=10", "--poll-interval-ms", "100"],
        &[],
    );
    eventually("five completed", 60, || async {
        count(&store, JobState::Completed).await == 5
    })
    .await;
    next.signal("TERM");
    assert!(next.wait_exit().success());
    for id in ids {
        let j = store.job_get(id).await.expect("get").expect("row");
        assert_eq!((j.state, j.attempt), (JobState::Completed, 2));
        assert!(
            j.errors[0].error.contains("lease expired"),
            "{:?}",
            j.errors
        );
    }
    assert_eq!(
        store
            .job_get(careful)
            .await
            .expect("get")
            .expect("row")
            .state,
        JobState::InDoubt
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres() {
    kill_9_leaves_jobs_the_rescuer_recovers(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite() {
    kill_9_leaves_jobs_the_rescuer_recovers(Backend::Sqlite).await
}

async fn sigterm_hands_leases_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let forever = CommandArgs::new_job("q", vec!["sleep".into(), "600".into()]).expect("job");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(store.job_insert(&forever).await.expect("insert").job.id);
    }
    let mut worker = WorkerProcess::start(
        &db.url,
        &["--queues", "q=3", "--shutdown-grace-secs", "0.5"],
        &[],
    );
    eventually("all running", 60, || async {
        count(&store, JobState::Running).await == 3
    })
    .await;
    worker.signal("TERM");
    assert!(worker.wait_exit().success(), "clean exit after SIGTERM");
    for id in ids {
        let j = store.job_get(id).await.expect("get").expect("row");
        assert_eq!(
            (j.state, j.attempt),
            (JobState::Available, 0),
            "{:?}",
            j.errors
        );
        assert!(j.lease_expires_at.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_postgres() {
    sigterm_hands_leases_back(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_sqlite() {
    sigterm_hands_leases_back(Backend::Sqlite).await
}

/// A worker process whose clock is an hour ahead (libfaketime) gets leases
/// from the database clock. PostgreSQL only: with SQLite the database clock
/// is the worker process's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_worker_clock_gets_database_time_leases() {
    let libfaketime = libfaketime();
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = dir.path().join("clock");
    // Written whole, then renamed: the test never reads a file the shell
    // has created but `date` has not yet filled.
    let script = format!(
        "date -u +%s > {0}.part && mv {0}.part {0}; sleep 600",
        seen.display()
    );
    let job = CommandArgs::new_job("q", vec!["sh".into(), "-c".into(), script]).expect("job");
    let id = store.job_insert(&job).await.expect("insert").job.id;
    let mut worker = WorkerProcess::start(
        &db.url,
        &[
            "--queues",
            "q=1",
            "--lease-secs",
            "30",
            "--shutdown-grace-secs",
            "0",
        ],
        &[("LD_PRELOAD", libfaketime), ("FAKETIME", "+1h")],
    );
    eventually("running", 60, || async {
        count(&store, JobState::Running).await == 1
    })
    .await;
    let j = store.job_get(id).await.expect("get").expect("row");
    let now = store.db_now().await.expect("now");
    let left = j.lease_expires_at.expect("lease") - now;
    assert!(
        left > chrono::Duration::seconds(20) && left <= chrono::Duration::seconds(30),
        "lease ends {left:?} from database time, not an hour off"
    );
    // The skew is real: the job (a child of the worker) sees a clock an hour ahead.
    eventually("job wrote its clock", 30, || async { seen.exists() }).await;
    let their_clock: i64 = std::fs::read_to_string(&seen)
        .expect("clock file")
        .trim()
        .parse()
        .expect("seconds");
    let skew = their_clock - chrono::Utc::now().timestamp();
    assert!(
        (3500..3700).contains(&skew),
        "worker clock skew is {skew} s"
    );
    let claimed_at = j.attempted_at.expect("attempted_at");
    assert!(
        (now - claimed_at).num_seconds().abs() < 60,
        "claim time is database time"
    );
    worker.signal("TERM");
    assert!(worker.wait_exit().success());
}

/// The libfaketime library to preload; fails the test saying how to install it.
pub fn libfaketime() -> &'static str {
    [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap_or_else(|| {
        panic!(
            "this test needs libfaketime: apt-get install faketime (./scripts/test.sh installs it)"
        )
    })
}
