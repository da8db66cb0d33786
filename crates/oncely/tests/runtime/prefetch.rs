//! The producer's local buffer of jobs claimed ahead: held jobs are handed
//! back uncounted (held too long, at shutdown), a cancel reaches a held job,
//! work that must not wait (at-most-once) is never claimed ahead, and a
//! shutdown cut off from its database still ends, leaving its jobs to the
//! rescuer.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use oncely::worker::{EffectPolicy, JobContext, JobError, Worker};
use oncely::{Client, JobState, NewJob, Store};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

/// One slot, a buffer of eight, a handler that sleeps `sleep`; `started`
/// counts handler starts.
fn one_slot(store: Store, sleep: Duration, started: Arc<AtomicU32>) -> Client {
    let mut config = fast_config();
    config.prefetch = 8;
    config.maintenance = false;
    Client::builder(store)
        .queue("q", 1)
        .config(config)
        .register_fn("k", move |_ctx| {
            started.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(sleep).await;
                Ok(())
            }
        })
        .build()
        .expect("client")
}

async fn insert(client: &Client, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let job = NewJob::new("q", "k", json!({ "i": i }));
        ids.push(client.insert(&job).await.expect("insert").job.id);
    }
    ids
}

async fn running_count(store: &Store) -> i64 {
    store
        .queue_counts()
        .await
        .expect("counts")
        .iter()
        .filter(|c| c.queue == "q" && c.state == JobState::Running)
        .map(|c| c.count)
        .sum()
}

both!(shutdown_hands_back_held_jobs_uncounted);
async fn shutdown_hands_back_held_jobs_uncounted(db: TestDb) {
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    let client = one_slot(store.clone(), Duration::from_secs(3600), started.clone());
    let ids = insert(&client, 5).await;
    let run = client.start();
    // One job runs; the other four were claimed with it and wait in the buffer.
    eventually("all five claimed", || async {
        running_count(&store).await == 5
    })
    .await;
    assert_eq!(started.load(Ordering::SeqCst), 1, "one slot");
    run.shutdown().await;
    let stats = client.stats().snapshot();
    assert_eq!((stats.handed_back, stats.released), (4, 1), "{stats:?}");
    for id in ids {
        let j = store.job_get(id).await.expect("get").expect("row");
        assert_eq!((j.state, j.attempt), (JobState::Available, 0), "{j:?}");
    }
}

both!(jobs_held_too_long_are_handed_back_and_run_once_later);
async fn jobs_held_too_long_are_handed_back_and_run_once_later(db: TestDb) {
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    // Each job takes longer than a job may wait in the buffer (a heartbeat
    // period, 500 ms here).
    let client = one_slot(store.clone(), Duration::from_millis(700), started.clone());
    assert!(client.config().prefetch_hold() < Duration::from_millis(700));
    let ids = insert(&client, 3).await;
    let run = client.start();
    for &id in &ids {
        eventually("completed", || async {
            state_of(&store, id).await == JobState::Completed
        })
        .await;
    }
    run.shutdown().await;
    let stats = client.stats().snapshot();
    assert!(stats.handed_back >= 2, "{stats:?}");
    assert_eq!(stats.completed, 3);
    assert_eq!(started.load(Ordering::SeqCst), 3, "each ran once");
    for id in ids {
        let j = store.job_get(id).await.expect("get").expect("row");
        assert_eq!(j.attempt, 1, "waiting in the buffer used no attempt: {j:?}");
        assert!(j.errors.is_empty(), "{j:?}");
    }
}

both!(a_cancel_reaches_a_job_held_in_the_buffer);
async fn a_cancel_reaches_a_job_held_in_the_buffer(db: TestDb) {
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    let client = one_slot(store.clone(), Duration::from_millis(300), started.clone());
    let ids = insert(&client, 2).await;
    let run = client.start();
    eventually("both claimed", || async {
        running_count(&store).await == 2
    })
    .await;
    // The second job is held, not started: cancelling it is a request.
    let requested = store
        .job_cancel(ids[1], &oncely_testkit::tester())
        .await
        .expect("cancel");
    assert_eq!(requested.state, JobState::Running);
    eventually("cancelled", || async {
        state_of(&store, ids[1]).await == JobState::Cancelled
    })
    .await;
    eventually("the first completed", || async {
        state_of(&store, ids[0]).await == JobState::Completed
    })
    .await;
    run.shutdown().await;
    let j = store.job_get(ids[1]).await.expect("get").expect("row");
    assert_eq!(j.state, JobState::Cancelled, "{j:?}");
}

/// An at-most-once kind whose attempts take a while.
struct Slow {
    started: Arc<AtomicU32>,
}

#[async_trait]
impl Worker for Slow {
    async fn work(&self, _ctx: JobContext) -> Result<(), JobError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    fn policy(&self) -> EffectPolicy {
        EffectPolicy::AtMostOnce
    }
}

both!(at_most_once_work_is_never_claimed_ahead);
async fn at_most_once_work_is_never_claimed_ahead(db: TestDb) {
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    let mut config = fast_config();
    config.prefetch = 8;
    config.maintenance = false;
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(config)
        .register(
            "k",
            Slow {
                started: started.clone(),
            },
        )
        .build()
        .expect("client");
    let ids = insert(&client, 4).await;
    let run = client.start();
    let mut most_running = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while state_of(&store, ids[3]).await != JobState::Completed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not drained in 60 s"
        );
        most_running = most_running.max(running_count(&store).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run.shutdown().await;
    assert_eq!(most_running, 1, "only the job in the slot was claimed");
    assert_eq!(client.stats().snapshot().handed_back, 0);
    assert_eq!(started.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_jobs_cut_off_from_the_database_at_shutdown_are_rescued() {
    let db = TestDb::new(oncely_testkit::Backend::Postgres).await;
    let observer = db.store().await;
    let proxy = oncely_testkit::StallProxy::start(db.postgres_addr()).await;
    let through = oncely::connect(&proxy.url_for(&db.url))
        .await
        .expect("connect through the proxy");
    let started = Arc::new(AtomicU32::new(0));
    let client = one_slot(through, Duration::from_secs(3600), started.clone());
    let mut ids = Vec::new();
    for i in 0..4 {
        let job = NewJob::new("q", "k", json!({ "i": i }));
        ids.push(observer.job_insert(&job).await.expect("insert").job.id);
    }
    let run = client.start();
    // One job in the slot, three held; then the network goes.
    eventually("all four claimed", || async {
        running_count(&observer).await == 4
    })
    .await;
    proxy.stall();
    // Nothing can be handed back or released; shutdown still ends: its
    // writes are abandoned a quarter lease after the hard stop (each try
    // would otherwise wait the pool's 30 s acquire timeout, six times).
    let stopping = Instant::now();
    run.shutdown().await;
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
    assert_eq!(client.stats().snapshot().handed_back, 0);
    proxy.resume();
    // Another worker's rescuer takes them once their leases end; each runs.
    let done = Arc::new(AtomicU32::new(0));
    let counted = done.clone();
    let rescuer = Client::builder(observer.clone())
        .queue("q", 1)
        .config(fast_config())
        .register_fn("k", move |_ctx| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .build()
        .expect("rescuer");
    let rescuing = rescuer.start();
    for &id in &ids {
        eventually("completed", || async {
            state_of(&observer, id).await == JobState::Completed
        })
        .await;
    }
    rescuing.shutdown().await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        4,
        "each job ran once on the rescuer's side"
    );
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "only the slot's job started on the cut-off worker"
    );
}

both!(pausing_a_queue_hands_back_what_was_claimed_ahead);
async fn pausing_a_queue_hands_back_what_was_claimed_ahead(db: TestDb) {
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    // A long lease: held jobs would wait 10 s before going back on their own.
    let mut config = fast_config().with_lease(Duration::from_secs(30));
    config.prefetch = 8;
    config.maintenance = false;
    let count = started.clone();
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(config)
        .register_fn("k", move |_ctx| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let ids = insert(&client, 5).await;
    let run = client.start();
    eventually("all five claimed", || async {
        running_count(&store).await == 5
    })
    .await;
    store
        .queue_pause("q", &oncely_testkit::tester())
        .await
        .expect("pause");
    // Within a poll interval the four held jobs go back; only the one in the
    // slot goes on.
    eventually("the held jobs are handed back", || async {
        running_count(&store).await <= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "nothing held started after the pause"
    );
    assert_eq!(client.stats().snapshot().handed_back, 4);
    let waiting = available_unattempted(&store, &ids).await;
    assert_eq!(waiting, 4, "handed back uncounted, available again");
    store
        .queue_resume("q", &oncely_testkit::tester())
        .await
        .expect("resume");
    for id in &ids {
        let id = *id;
        eventually("every job completes once resumed", || {
            let store = store.clone();
            async move { state_of(&store, id).await == JobState::Completed }
        })
        .await;
    }
    run.shutdown().await;
    assert_eq!(started.load(Ordering::SeqCst), 5, "each ran once");
}

async fn available_unattempted(store: &Store, ids: &[i64]) -> usize {
    let mut n = 0;
    for id in ids {
        let j = store.job_get(*id).await.expect("get").expect("row");
        if j.state == JobState::Available && j.attempt == 0 {
            n += 1;
        }
    }
    n
}

/// A claim that first waits for a connection (a loaded machine, a pool
/// whose connections are all busy) counts its leases from when it was sent,
/// not from when it asked for the connection: waiting longer than a lease
/// neither stops the slot's job at once nor makes every held job stale on
/// arrival (handed back and claimed again, over and over).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_waited_for_a_connection_keeps_its_leases() {
    let db = TestDb::new(oncely_testkit::Backend::Postgres).await;
    let observer = db.store().await;
    let driver = oncely::store::postgres::PgDriver::connect_with_pool_size(&db.url, 5)
        .await
        .expect("a pool of five");
    let pool = driver.pool().clone();
    let store: Store = Arc::new(driver);
    let started = Arc::new(AtomicU32::new(0));
    // Short jobs, few of them: the last held one starts well within its
    // hold (500 ms) after the claim even on a slow machine.
    let client = one_slot(store, Duration::from_millis(10), started.clone());
    let mut ids = Vec::new();
    for i in 0..4 {
        let job = NewJob::new("q", "k", json!({ "i": i }));
        ids.push(observer.job_insert(&job).await.expect("insert").job.id);
    }
    // Every connection of the client's pool is busy for longer than a lease
    // (1.5 s): its first claim waits for one.
    let mut busy = Vec::new();
    for _ in 0..5 {
        busy.push(pool.acquire().await.expect("acquire"));
    }
    let run = client.start();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(running_count(&observer).await, 0, "the claim waited");
    drop(busy);
    for &id in &ids {
        eventually("completed", || async {
            state_of(&observer, id).await == JobState::Completed
        })
        .await;
    }
    run.shutdown().await;
    let stats = client.stats().snapshot();
    assert_eq!(
        (
            stats.completed,
            stats.handed_back,
            stats.stopped_at_deadline
        ),
        (4, 0, 0),
        "{stats:?}"
    );
    for id in ids {
        let j = store_job(&observer, id).await;
        assert_eq!(j.attempt, 1, "{j:?}");
    }
}

async fn store_job(store: &Store, id: i64) -> oncely::Job {
    store.job_get(id).await.expect("get").expect("row")
}
