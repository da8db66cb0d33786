//! Leases over time: heartbeats, graceful shutdown, rescue, wake-ups.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oncely::{Client, JobState, NewJob};
use oncely_testkit::{Backend, TestDb};
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

fn sleeper(store: oncely::Store, sleep: Duration) -> Client {
    Client::builder(store)
        .queue("q", 2)
        .config(fast_config())
        .register_fn("sleep", move |_ctx| async move {
            tokio::time::sleep(sleep).await;
            Ok(())
        })
        .build()
        .expect("client")
}

both!(heartbeats_keep_a_long_job_leased);
async fn heartbeats_keep_a_long_job_leased(db: TestDb) {
    // The handler runs for twice the lease while another client's rescuer
    // runs every 200 ms: only heartbeats keep the job from being rescued.
    let store = db.store().await;
    let worker = sleeper(store.clone(), Duration::from_millis(3000));
    let bystander = Client::builder(db.store().await)
        .queue("q", 2)
        .config(fast_config())
        .register_fn("other", |_ctx| async { Ok(()) })
        .build()
        .expect("client");
    let id = worker
        .insert(&NewJob::new("q", "sleep", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let (a, b) = (worker.start(), bystander.start());
    eventually("completed", || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!(j.attempt, 1, "never rescued: {j:?}");
    assert_eq!(worker.stats().snapshot().completed, 1);
}

both!(graceful_shutdown_hands_leases_back);
async fn graceful_shutdown_hands_leases_back(db: TestDb) {
    let store = db.store().await;
    let stuck = sleeper(store.clone(), Duration::from_secs(3600));
    let id = stuck
        .insert(&NewJob::new("q", "sleep", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let run = stuck.start();
    eventually("running", || async {
        state_of(&store, id).await == JobState::Running
    })
    .await;
    run.shutdown().await;
    let j = store.job_get(id).await.expect("get").expect("row");
    assert_eq!(
        (j.state, j.attempt),
        (JobState::Available, 0),
        "{:?}",
        j.errors
    );
    assert_eq!(stuck.stats().snapshot().released, 1);
    // Another server takes it at once, without waiting for a lease to expire.
    let next = sleeper(db.store().await, Duration::ZERO);
    let run = next.start();
    eventually("completed by the next server", || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    run.shutdown().await;
}

both!(jobs_finishing_within_the_grace_period_complete);
async fn jobs_finishing_within_the_grace_period_complete(db: TestDb) {
    let store = db.store().await;
    let client = sleeper(store.clone(), Duration::from_millis(400));
    let id = client
        .insert(&NewJob::new("q", "sleep", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let run = client.start();
    eventually("running", || async {
        state_of(&store, id).await == JobState::Running
    })
    .await;
    run.shutdown_with_grace(Duration::from_secs(10)).await;
    assert_eq!(state_of(&store, id).await, JobState::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifications_wake_idle_workers() {
    // Polling every 10 minutes: only LISTEN/NOTIFY can start the job quickly.
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let mut config = fast_config();
    config.poll_interval = Duration::from_secs(600);
    let client = Client::builder(db.store().await)
        .queue("q", 1)
        .config(config)
        .register_fn("sleep", |_ctx| async { Ok(()) })
        .build()
        .expect("client");
    let run = client.start();
    // Let the producer make its first (empty) claim and go idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = store
        .job_insert(&NewJob::new("q", "sleep", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    eventually("woken by NOTIFY", || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    run.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_inserts_from_elsewhere_starts_without_waiting_for_a_poll() {
    // Inserts are announced at most once per queue every few milliseconds;
    // the echo claim after each wake-up finds the unannounced ones. Polling
    // every 10 minutes and jobs that hold their slots until released: without
    // the echo, jobs inserted after the first claim would not start.
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let mut config = fast_config();
    config.poll_interval = Duration::from_secs(600);
    let started = Arc::new(AtomicU64::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let counted = started.clone();
    let client = Client::builder(db.store().await)
        .queue("q", 50)
        .config(config)
        .register_fn("held", move |_ctx| {
            let (started, mut gate) = (counted.clone(), gate.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = gate.wait_for(|open| *open).await;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let run = client.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..20 {
        store
            .job_insert(&NewJob::new("q", "held", json!({})))
            .await
            .expect("insert");
    }
    eventually("all 20 started", || async {
        started.load(Ordering::SeqCst) == 20
    })
    .await;
    open.send(true).expect("open the gate");
    eventually("all 20 completed", || async {
        client.stats().snapshot().completed == 20
    })
    .await;
    run.shutdown().await;
}

both!(a_running_client_is_seen_and_its_shutdown_recorded);
async fn a_running_client_is_seen_and_its_shutdown_recorded(db: TestDb) {
    let store = db.store().await;
    let client = sleeper(store.clone(), Duration::from_millis(10));
    let id = client.config().worker_id.clone();
    let run = client.start();
    let minutes = Duration::from_secs(300);
    eventually("the client reports itself", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            store.worker_list(minutes).await.is_ok_and(|w| {
                w.iter()
                    .any(|w| w.id == id && w.queues == "q=2" && w.stopped_at.is_none())
            })
        }
    })
    .await;
    run.shutdown().await;
    let seen = store.worker_list(minutes).await.expect("list");
    let me = seen.iter().find(|w| w.id == id).expect("still listed");
    assert!(me.stopped_at.is_some(), "{me:?}");
}
