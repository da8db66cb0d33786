//! Handler outcomes as written by the executor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oncely::{Client, JobError, JobState, NewJob};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

/// A client whose `act` kind does what its args say, on its first attempt only
/// for the `*_once` actions.
fn acting_client(store: oncely::Store) -> Client {
    let snoozed: Arc<std::sync::Mutex<std::collections::HashSet<i64>>> = Arc::default();
    Client::builder(store)
        .queue("q", 4)
        .config(fast_config())
        .register_fn("act", move |ctx| {
            let snoozed = snoozed.clone();
            async move {
                let action: String = ctx.job().args["do"].as_str().unwrap_or("ok").to_owned();
                let first = ctx.attempt() == 1;
                match action.as_str() {
                    "fail_once" if first => Err(JobError::retry("first attempt fails")),
                    "panic_once" if first => panic!("handler bug"),
                    "snooze_once" if snoozed.lock().expect("lock").insert(ctx.id()) => {
                        Err(JobError::Snooze(Duration::from_millis(50)))
                    }
                    "discard" => Err(JobError::discard("cannot ever work")),
                    "cancel" => Err(JobError::Cancel("not needed".into())),
                    "fail_always" => Err(JobError::retry("always fails")),
                    "sleep" => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
        })
        .build()
        .expect("client")
}

async fn run_one(db: &TestDb, job: NewJob, expect: JobState) -> oncely::Job {
    let store = db.store().await;
    let client = acting_client(store.clone());
    let id = client.insert(&job).await.expect("insert").job.id;
    let running = client.start();
    eventually(&format!("job {:?} reaches {expect}", job.args), || async {
        state_of(&store, id).await == expect
    })
    .await;
    running.shutdown().await;
    store.job_get(id).await.expect("get").expect("row")
}

both!(outcomes_are_recorded);
async fn outcomes_are_recorded(db: TestDb) {
    let act = |what: &str| NewJob::new("q", "act", json!({ "do": what }));
    let j = run_one(&db, act("fail_once"), JobState::Completed).await;
    assert_eq!(j.attempt, 2);
    assert_eq!(j.errors[0].error, "first attempt fails");

    let j = run_one(&db, act("panic_once"), JobState::Completed).await;
    assert_eq!(j.attempt, 2);
    assert!(j.errors[0].error.contains("handler bug"), "{:?}", j.errors);

    let j = run_one(&db, act("snooze_once"), JobState::Completed).await;
    assert_eq!(j.attempt, 1, "a snooze does not use up an attempt");

    let j = run_one(&db, act("discard"), JobState::Discarded).await;
    assert_eq!((j.attempt, j.errors.len()), (1, 1));

    let j = run_one(&db, act("cancel"), JobState::Cancelled).await;
    assert_eq!(j.errors[0].error, "not needed");

    let j = run_one(
        &db,
        act("fail_always").with_max_attempts(3),
        JobState::Discarded,
    )
    .await;
    assert_eq!((j.attempt, j.errors.len()), (3, 3));

    let j = run_one(
        &db,
        act("sleep")
            .with_timeout(Duration::from_millis(100))
            .with_max_attempts(1),
        JobState::Discarded,
    )
    .await;
    assert!(j.errors[0].error.contains("timed out"), "{:?}", j.errors);
}

both!(malformed_args_discard_without_retrying);
async fn malformed_args_discard_without_retrying(db: TestDb) {
    let store = db.store().await;
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register_fn("typed", |ctx| async move {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Args {
                amount: u64,
            }
            let _args: Args = ctx.args()?;
            Ok(())
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "typed", json!({ "amount": "lots" })))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("discarded", || async {
        state_of(&store, id).await == JobState::Discarded
    })
    .await;
    running.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!(j.attempt, 1);
    assert!(
        j.errors[0].error.contains("malformed args"),
        "{:?}",
        j.errors
    );
}

both!(cancelling_a_running_job_tells_its_handler);
async fn cancelling_a_running_job_tells_its_handler(db: TestDb) {
    let store = db.store().await;
    let told = Arc::new(AtomicBool::new(false));
    let seen = told.clone();
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register_fn("wait", move |ctx| {
            let told = told.clone();
            async move {
                tokio::select! {
                    _ = ctx.cancelled() => told.store(true, Ordering::SeqCst),
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "wait", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("running", || async {
        state_of(&store, id).await == JobState::Running
    })
    .await;
    let asked = store
        .job_cancel(id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    assert_eq!(
        asked.state,
        JobState::Running,
        "a request until the attempt stops"
    );
    eventually("handler told", || async { seen.load(Ordering::SeqCst) }).await;
    // The worker stops the attempt and records the cancel itself (fenced).
    eventually("cancelled", || async {
        state_of(&store, id).await == JobState::Cancelled
    })
    .await;
    running.shutdown().await;
    let stats = client.stats().snapshot();
    assert_eq!(stats.cancel_requests_obeyed, 1);
    assert_eq!(stats.lease_lost, 0);
    let j = store.job_get(id).await.expect("get").expect("row");
    assert!(
        j.errors.iter().any(|e| e
            .error
            .contains("cancelled by operator: attempt 1 was stopped")),
        "{:?}",
        j.errors
    );
}
