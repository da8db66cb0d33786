//! Operators' actions racing running attempts, and a schedule that must not
//! stop maintenance, with real `oncely` processes.

use std::path::Path;
use std::time::Duration;

use oncely::kinds::command::CommandArgs;
use oncely::JobState;
use oncely_testkit::{Backend, TestDb};

use super::support::{eventually, oncely, state_of, WorkerProcess};

/// Whether process `pid` still exists (a zombie is gone for our purpose).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

async fn cancel_then_retry_never_overlaps(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The program records its pid per attempt; attempt 1 would run 30 s.
    let script = format!(
        r#"echo $$ > {dir}/pid_$ONCELY_ATTEMPT; if [ "$ONCELY_ATTEMPT" = 1 ]; then exec sleep 30; fi"#,
        dir = dir.path().display()
    );
    let job = CommandArgs::new_job("q", vec!["sh".into(), "-c".into(), script]).expect("job");
    let job_id = store.job_insert(&job).await.expect("insert").job.id;
    let id = job_id.to_string();
    let _worker = WorkerProcess::start(&db.url, &["--queues", "q=2", "--lease-secs", "3"], &[]);
    let first = dir.path().join("pid_1");
    eventually("attempt 1 running", 60, || async {
        pid_in(&first).is_some()
    })
    .await;
    let pid = pid_in(&first).expect("pid of attempt 1");
    assert!(alive(pid));
    // The operator cancels, then retries at once.
    let cancel = oncely(&db.url, &["jobs", "cancel", &id]);
    let said = String::from_utf8_lossy(&cancel.stdout);
    assert!(
        cancel.status.success() && said.contains("cancel requested"),
        "{said}"
    );
    let retry = oncely(&db.url, &["jobs", "retry", &id]);
    let stderr = String::from_utf8_lossy(&retry.stderr);
    assert!(!retry.status.success(), "retried while attempt 1 may act");
    assert!(stderr.contains("is running: cannot retry"), "{stderr}");
    // The worker stops attempt 1 (its program is killed) and records the cancel.
    eventually("cancelled", 30, || async {
        state_of(&store, job_id).await == JobState::Cancelled
    })
    .await;
    eventually("attempt 1's program is gone", 5, || async { !alive(pid) }).await;
    assert!(!dir.path().join("pid_2").exists(), "nothing ran meanwhile");
    // Now a retry runs the job again, alone.
    let retry = oncely(&db.url, &["jobs", "retry", &id]);
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    eventually("completed by attempt 2", 60, || async {
        state_of(&store, job_id).await == JobState::Completed
    })
    .await;
    assert!(dir.path().join("pid_2").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_retry_never_overlaps_postgres() {
    cancel_then_retry_never_overlaps(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_retry_never_overlaps_sqlite() {
    cancel_then_retry_never_overlaps(Backend::Sqlite).await
}

async fn an_absurd_schedule_stops_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // Refused at the door...
    let out = oncely(
        &db.url,
        &[
            "schedule",
            "add",
            "big",
            "--every",
            "18446744073709551615",
            "--",
            "true",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too long"));
    // ...and harmless if an older binary stored it anyway.
    db.insert_raw_schedule(
        "big",
        r#"{"type":"every","seconds":18446744073709551615}"#,
        "default",
        "command",
        r#"{"argv":["true"]}"#,
    )
    .await;
    let add = oncely(
        &db.url,
        &["schedule", "add", "tick", "--every", "1", "--", "true"],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let _a = WorkerProcess::start(&db.url, &["--queues", "default=2"], &[]);
    let _b = WorkerProcess::start(&db.url, &["--queues", "default=2"], &[]);
    eventually("the 1-second schedule fired three periods", 30, || async {
        store
            .job_list(&Default::default())
            .await
            .expect("list")
            .iter()
            .filter(|j| {
                j.unique_key
                    .as_deref()
                    .is_some_and(|k| k.starts_with("schedule:tick:"))
            })
            .count()
            >= 3
    })
    .await;
    let listed = oncely(&db.url, &["schedule", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("BROKEN big") && text.contains("too long"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_schedule_stops_nothing_postgres() {
    an_absurd_schedule_stops_nothing(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_schedule_stops_nothing_sqlite() {
    an_absurd_schedule_stops_nothing(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_kills_the_program_before_the_lease_ends() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let proxy = oncely_testkit::StallProxy::start(db.postgres_addr()).await;
    let script = format!(
        r#"echo $$ > {dir}/pid_$ONCELY_ATTEMPT; if [ ! -e {dir}/pid_2 ] && [ "$ONCELY_ATTEMPT" = 1 ]; then exec sleep 60; fi"#,
        dir = dir.path().display()
    );
    let job = CommandArgs::new_job("q", vec!["sh".into(), "-c".into(), script]).expect("job");
    let id = store.job_insert(&job).await.expect("insert").job.id;
    let cut_off = WorkerProcess::start(
        &proxy.url_for(&db.url),
        &["--queues", "q=1", "--lease-secs", "3"],
        &[],
    );
    let first = dir.path().join("pid_1");
    eventually("attempt 1 running", 60, || async {
        pid_in(&first).is_some()
    })
    .await;
    let pid = pid_in(&first).expect("pid");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    proxy.stall();
    eventually("the program is killed", 10, || async { !alive(pid) }).await;
    // Killed while the database still holds the lease for that attempt.
    let now = store.db_now().await.expect("now");
    let row = store.job_get(id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::Running);
    let lease_end = row.lease_expires_at.expect("leased");
    assert!(
        now < lease_end,
        "killed at {now}, lease ended at {lease_end}"
    );
    // A healthy worker takes the job once the lease has ended; the two
    // programs never ran at the same time.
    let _healthy = WorkerProcess::start(&db.url, &["--queues", "q=1", "--lease-secs", "3"], &[]);
    eventually("completed elsewhere", 60, || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    drop(cut_off);
}
