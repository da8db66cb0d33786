//! Effect policies of `command` jobs across a kill -9: a reconcilable job
//! whose worker died is settled by its reconcile program, never run twice,
//! and the programs of the dead worker die with it.

use std::path::Path;

use oncely::JobState;
use oncely_testkit::{Backend, TestDb};

use super::support::{count, eventually, oncely, WorkerProcess};

/// `oncely enqueue` of a reconcilable command job; returns its id.
fn enqueue_reconcilable(url: &str, work: &str, ledger: &Path) -> i64 {
    let ask = format!(
        r#"[ "$ONCELY_RECONCILING" = 1 ] || exit 2; grep -qx "$ONCELY_IDEMPOTENCY_KEY" {} && exit 0; exit 1"#,
        ledger.display()
    );
    let out = oncely(
        url,
        &[
            "enqueue",
            "--queue",
            "q",
            "--reconcile-with",
            "sh",
            "--reconcile-arg",
            "-c",
            "--reconcile-arg",
            &ask,
            "--",
            "sh",
            "-c",
            work,
        ],
    );
    assert!(
        out.status.success(),
        "enqueue: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("an id")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn reconcile_after_kill_9(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Charges on its first attempt, then hangs (the worker will die here).
    let charged = dir.path().join("charged");
    let after = enqueue_reconcilable(
        &db.url,
        &format!(
            r#"echo "$ONCELY_IDEMPOTENCY_KEY" >> {}; [ "$ONCELY_ATTEMPT" = 1 ] && sleep 4; exit 0"#,
            charged.display()
        ),
        &charged,
    );
    // Hangs before charging on its first attempt.
    let uncharged = dir.path().join("uncharged");
    let before = enqueue_reconcilable(
        &db.url,
        &format!(
            r#"[ "$ONCELY_ATTEMPT" = 1 ] && sleep 4; echo "$ONCELY_IDEMPOTENCY_KEY" >> {}"#,
            uncharged.display()
        ),
        &uncharged,
    );
    let flags = [
        "--queues",
        "q=4",
        "--lease-secs",
        "1",
        "--leader-ttl-secs",
        "1",
        "--poll-interval-ms",
        "100",
    ];
    let victim = WorkerProcess::start(&db.url, &flags, &[]);
    eventually("both running, one charged", 60, || async {
        count(&store, JobState::Running).await == 2 && lines(&charged).len() == 1
    })
    .await;
    victim.signal("KILL");
    let killed_at = std::time::Instant::now();
    drop(victim);
    let listed = oncely(&db.url, &["jobs", "list", "--queue", "q"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("reconcilable"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let mut next = WorkerProcess::start(&db.url, &flags, &[]);
    eventually("both completed", 60, || async {
        count(&store, JobState::Completed).await == 2
    })
    .await;
    next.signal("TERM");
    assert!(next.wait_exit().success());
    // The programs the dead worker started died with it: had they lived
    // on, they would charge when their sleep ends.
    tokio::time::sleep(std::time::Duration::from_secs(5).saturating_sub(killed_at.elapsed())).await;
    let a = store.job_get(after).await.expect("get").expect("row");
    let b = store.job_get(before).await.expect("get").expect("row");
    assert_eq!(
        lines(&charged),
        vec![a.idempotency_key.clone()],
        "charged once"
    );
    assert_eq!(
        lines(&uncharged),
        vec![b.idempotency_key.clone()],
        "charged once"
    );
    assert_eq!((a.attempt, a.reconciling), (1, true), "{a:?}");
    assert_eq!((b.attempt, b.reconciling), (2, false), "{b:?}");
    for j in [&a, &b] {
        assert!(
            j.errors.iter().any(|e| e.error.contains("lease expired")),
            "went in doubt when its worker died: {:?}",
            j.errors
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_after_kill_9_on_postgres() {
    reconcile_after_kill_9(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_after_kill_9_on_sqlite() {
    reconcile_after_kill_9(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_carry_the_reconcile_program() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = oncely(
        &db.url,
        &[
            "schedule",
            "add",
            "nightly-charge",
            "--cron",
            "0 2 * * *",
            "--reconcile-with",
            "check-charge",
            "--reconcile-arg",
            "--for-period",
            "--",
            "charge",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = oncely(&db.url, &["schedule", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("reconcilable"), "{text}");
    let store = db.store().await;
    let record = store.schedule_list().await.expect("list").records.remove(0);
    let args: oncely::kinds::command::CommandArgs =
        serde_json::from_value(record.schedule.args.clone()).expect("command args");
    assert_eq!(
        args.reconcile,
        Some(vec!["check-charge".to_owned(), "--for-period".to_owned()])
    );
    let job = oncely::maintenance::periodic::job_for_period(&record.schedule, chrono::Utc::now());
    assert!(job.reconcilable && job.stored_at_most_once(), "{job:?}");
}
