//! A worker paused past its lease (a long GC pause, SIGSTOP, a frozen VM)
//! does not start its effect when it wakes: `ctx.check_lease()`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oncely::{Client, JobState, NewJob};
use oncely_testkit::{Backend, TestDb};
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

/// One runtime thread: a blocking sleep in the handler stops the heartbeats
/// too, as a paused process would.
#[tokio::test(flavor = "current_thread")]
async fn a_paused_attempt_does_not_start_its_effect() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let effects = Arc::new(AtomicU32::new(0));
    let counted = effects.clone();
    let config = fast_config();
    let pause = config.lease + Duration::from_millis(500);
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(config)
        .register_fn("charge", move |ctx| {
            let effects = counted.clone();
            async move {
                if ctx.attempt() == 1 {
                    std::thread::sleep(pause);
                }
                ctx.check_lease()?;
                effects.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "charge", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("completed", || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    running.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!(
        effects.load(Ordering::SeqCst),
        1,
        "one effect, by attempt 2"
    );
    assert_eq!(j.attempt, 2);
    // Attempt 1 ended by its own refusal, or by the rescuer if it got there
    // first (then the refusal's write was fenced out): either way, no effect.
    assert!(
        j.errors[0].error.contains("lease may have ended")
            || j.errors[0].error.contains("lease expired"),
        "{:?}",
        j.errors
    );
}
