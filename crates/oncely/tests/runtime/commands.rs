//! `command` jobs and their effect policies: reconcile programs, attempts of
//! at-most-once jobs cut short, and programs a worker does not allow.

use std::path::Path;
use std::time::Duration;

use oncely::kinds::allowed::AllowedPrograms;
use oncely::kinds::command::{CommandArgs, CommandWorker, KIND};
use oncely::{Client, JobState, NewJob, Store};
use oncely_testkit::TestDb;

use super::support::{eventually, fast_config, state_of};

/// The shell, wherever `PATH` finds it (Debian: /usr/bin/sh, /bin/sh).
const SHELLS: [&str; 2] = ["/usr/bin/sh", "/bin/sh"];

fn client(store: Store) -> Client {
    client_allowing(store, AllowedPrograms::only(SHELLS).expect("patterns"))
}

fn client_allowing(store: Store, allowed: AllowedPrograms) -> Client {
    Client::builder(store)
        .queue("q", 2)
        .config(fast_config())
        .register(KIND, CommandWorker::new(allowed))
        .build()
        .expect("client")
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Lines of the "provider's" ledger: one per effect.
fn ledger(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs `job` until it reaches `expect`; returns the stored row.
async fn settle(store: &Store, job: NewJob, expect: JobState) -> oncely::Job {
    let c = client(store.clone());
    let id = c.insert(&job).await.expect("insert").job.id;
    let running = c.start();
    eventually(&format!("job {id} reaches {expect}"), || async {
        state_of(store, id).await == expect
    })
    .await;
    running.shutdown().await;
    store.job_get(id).await.expect("get").expect("row")
}

/// A charge program: records the effect under the job's idempotency key,
/// then, on attempt `crash_after` only, fails as if it crashed after the
/// call (`crash_before`: before it).
fn charge_program(ledger: &Path, crash_before: &str, crash_after: &str) -> Vec<String> {
    sh(&format!(
        r#"[ "$ONCELY_ATTEMPT" = "{crash_before}" ] && exit 3
echo "$ONCELY_IDEMPOTENCY_KEY" >> {ledger}
[ "$ONCELY_ATTEMPT" = "{crash_after}" ] && exit 3
exit 0"#,
        ledger = ledger.display()
    ))
}

/// A reconcile program asking the ledger whether the job's effect happened.
fn ask_ledger(ledger: &Path) -> Vec<String> {
    sh(&format!(
        r#"[ "$ONCELY_RECONCILING" = 1 ] || exit 2
grep -qx "$ONCELY_IDEMPOTENCY_KEY" {} && exit 0
exit 1"#,
        ledger.display()
    ))
}

both!(reconcile_programs_settle_command_jobs);
async fn reconcile_programs_settle_command_jobs(db: TestDb) {
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Crashed after its effect: the reconcile program finds it; completed
    // without a second run.
    let path = dir.path().join("after");
    let job = CommandArgs::new(charge_program(&path, "-", "1"))
        .with_reconcile(ask_ledger(&path))
        .into_job("q")
        .expect("job");
    assert!(job.reconcilable && job.at_most_once);
    let j = settle(&store, job, JobState::Completed).await;
    assert_eq!(ledger(&path).len(), 1, "charged once");
    assert_eq!(j.attempt, 1, "never run again");
    assert!(j.reconciling, "completed by its reconcile program");
    assert!(
        j.errors.iter().any(|e| e.error.starts_with("exit 3")),
        "{:?}",
        j.errors
    );
    // Crashed before its effect: not done, so it runs again, once.
    let path = dir.path().join("before");
    let job = CommandArgs::new(charge_program(&path, "1", "-"))
        .with_reconcile(ask_ledger(&path))
        .into_job("q")
        .expect("job");
    let j = settle(&store, job, JobState::Completed).await;
    assert_eq!(ledger(&path).len(), 1, "charged once");
    assert_eq!(j.attempt, 2);
    assert!(!j.reconciling);
    // A reconcile program that cannot tell keeps the job in doubt, asking
    // again with backoff; it is never run again on its own.
    let path = dir.path().join("unknown");
    let job = CommandArgs::new(charge_program(&path, "-", "1"))
        .with_reconcile(sh("echo provider unreachable >&2; exit 7"))
        .into_job("q")
        .expect("job");
    let c = client(store.clone());
    let id = c.insert(&job).await.expect("insert").job.id;
    let running = c.start();
    eventually("asked three times", || async {
        let j = store.job_get(id).await.expect("get").expect("row");
        j.errors
            .iter()
            .filter(|e| e.error.contains("provider unreachable"))
            .count()
            >= 3
    })
    .await;
    running.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!((j.state, j.attempt), (JobState::InDoubt, 1));
    assert_eq!(ledger(&path).len(), 1);
}

both!(at_most_once_attempts_cut_short_go_in_doubt);
async fn at_most_once_attempts_cut_short_go_in_doubt(db: TestDb) {
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Stopped by its time limit mid-effect: in doubt, not retried.
    let path = dir.path().join("slow");
    let job = CommandArgs::new(sh(&format!("echo started >> {}; sleep 30", path.display())))
        .into_job("q")
        .expect("job")
        .at_most_once()
        .with_timeout(Duration::from_millis(300));
    let j = settle(&store, job, JobState::InDoubt).await;
    assert_eq!(j.attempt, 1);
    assert!(
        j.errors.iter().any(|e| e.error.contains("timed out")),
        "{:?}",
        j.errors
    );
    assert_eq!(ledger(&path).len(), 1, "started once, never again");
    // A reconcile step that hangs is stopped by the time limit too, and the
    // job goes back in doubt: never back to work.
    let path = dir.path().join("hung-reconcile");
    let job = CommandArgs::new(charge_program(&path, "-", "1"))
        .with_reconcile(sh("sleep 30"))
        .into_job("q")
        .expect("job")
        .with_timeout(Duration::from_millis(300));
    let c = client(store.clone());
    let id = c.insert(&job).await.expect("insert").job.id;
    let running = c.start();
    eventually("the reconcile step timed out twice", || async {
        let j = store.job_get(id).await.expect("get").expect("row");
        j.errors
            .iter()
            .filter(|e| e.error.contains("reconcile step timed out"))
            .count()
            >= 2
    })
    .await;
    running.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!((j.state, j.attempt), (JobState::InDoubt, 1));
    assert_eq!(ledger(&path).len(), 1, "the work ran once");
    // An idempotent command job that fails is simply retried.
    let path = dir.path().join("idempotent");
    let j = settle(
        &store,
        CommandArgs::new(charge_program(&path, "-", "1"))
            .into_job("q")
            .expect("job"),
        JobState::Completed,
    )
    .await;
    assert_eq!(j.attempt, 2);
    assert_eq!(
        ledger(&path),
        vec![j.idempotency_key.clone(), j.idempotency_key],
        "the same key both times"
    );
}

both!(programs_the_worker_does_not_allow_never_run);
async fn programs_the_worker_does_not_allow_never_run(db: TestDb) {
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let touch = |tag: &str| format!("echo {tag} >> {}", marker.display());
    let c = client_allowing(
        store.clone(),
        AllowedPrograms::only(SHELLS).expect("patterns"),
    );
    let mut refused = Vec::new();
    // A program outside the allow list, by absolute path and by bare name...
    for argv in [
        vec![
            "/usr/bin/env".to_owned(),
            "sh".into(),
            "-c".into(),
            touch("env"),
        ],
        vec!["env".to_owned(), "sh".into(), "-c".into(), touch("bare")],
        // ...a path that climbs out of an allowed one...
        vec![
            "/usr/bin/../bin/env".to_owned(),
            "sh".into(),
            "-c".into(),
            touch("climb"),
        ],
    ] {
        let job = CommandArgs::new(argv).into_job("q").expect("job");
        refused.push(c.insert(&job).await.expect("insert").job.id);
    }
    // ...and an allowed program whose reconcile program is not: refused
    // before it acts (in doubt it could never be reconciled).
    let job = CommandArgs::new(sh(&touch("main")))
        .with_reconcile(vec!["/usr/bin/env".into(), "true".into()])
        .into_job("q")
        .expect("job");
    refused.push(c.insert(&job).await.expect("insert").job.id);
    // An allowed one runs, so the worker was running all along.
    let allowed = c
        .insert(
            &CommandArgs::new(sh(&touch("allowed")))
                .into_job("q")
                .expect("job"),
        )
        .await
        .expect("insert")
        .job
        .id;
    let running = c.start();
    eventually("every job is final", || async {
        let mut all = refused.clone();
        all.push(allowed);
        for id in all {
            if !state_of(&store, id).await.is_final() {
                return false;
            }
        }
        true
    })
    .await;
    running.shutdown().await;
    assert_eq!(state_of(&store, allowed).await, JobState::Completed);
    for id in refused {
        let j = store.job_get(id).await.expect("get").expect("row");
        assert_eq!(j.state, JobState::Discarded, "job {id}");
        assert_eq!(
            j.errors.len(),
            1,
            "refused once, not retried: {:?}",
            j.errors
        );
        assert!(
            j.errors[0].error.contains("is not allowed on this worker"),
            "{:?}",
            j.errors
        );
    }
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(ran.trim(), "allowed", "only the allowed program ran");
    // A worker that allows nothing refuses even the shell.
    let nothing = client_allowing(store.clone(), AllowedPrograms::none());
    let id = nothing
        .insert(
            &CommandArgs::new(sh(&touch("none")))
                .into_job("q")
                .expect("job"),
        )
        .await
        .expect("insert")
        .job
        .id;
    let running = nothing.start();
    eventually("refused", || async {
        state_of(&store, id).await == JobState::Discarded
    })
    .await;
    running.shutdown().await;
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(ran.trim(), "allowed");
}
