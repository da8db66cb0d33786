//! Draining: 8 clients run 5,000 jobs exactly once; connections reset
//! mid-drain lose nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oncely::{Client, JobState, NewJob};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::fast_config;

const JOBS: usize = 5_000;
const CLIENTS: usize = 8;

both!(eight_clients_drain_5000_jobs_exactly_once);
async fn eight_clients_drain_5000_jobs_exactly_once(db: TestDb) {
    let store = db.store().await;
    let started = Instant::now();
    for i in 0..JOBS {
        store
            .job_insert(&NewJob::new("drain", "count", json!({ "i": i })))
            .await
            .expect("insert");
    }
    let inserted = started.elapsed();
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut running = Vec::new();
    let started = Instant::now();
    for _ in 0..CLIENTS {
        let runs = runs.clone();
        let client = Client::builder(db.store().await)
            .queue("drain", 4)
            .config(fast_config().with_lease(std::time::Duration::from_secs(30)))
            .register_fn("count", move |ctx| {
                let runs = runs.clone();
                async move {
                    *runs.lock().expect("lock").entry(ctx.id()).or_default() += 1;
                    Ok(())
                }
            })
            .build()
            .expect("client");
        running.push((client.clone(), client.start()));
    }
    super::support::eventually("all jobs completed", || async {
        let counts = store.queue_counts().await.expect("counts");
        counts
            .iter()
            .any(|c| c.state == JobState::Completed && c.count == JOBS as i64)
    })
    .await;
    let drained = started.elapsed();
    let mut completed_by_clients = 0;
    for (client, run) in running {
        run.shutdown().await;
        completed_by_clients += client.stats().snapshot().completed;
    }
    let runs = runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), JOBS, "every job ran");
    assert!(runs.values().all(|&n| n == 1), "a job ran twice");
    assert_eq!(completed_by_clients, JOBS as u64);
    let counts = store.queue_counts().await.expect("counts");
    assert_eq!(
        counts.len(),
        1,
        "nothing but completed jobs left: {counts:?}"
    );
    println!(
        "{:?}: inserted {JOBS} jobs in {inserted:.2?} ({:.0}/s); {CLIENTS} clients drained them in {drained:.2?} ({:.0} jobs/s)",
        db.backend,
        JOBS as f64 / inserted.as_secs_f64(),
        JOBS as f64 / drained.as_secs_f64()
    );
}

both!(a_freed_slot_is_refilled_while_long_jobs_hold_the_others);
async fn a_freed_slot_is_refilled_while_long_jobs_hold_the_others(db: TestDb) {
    // Claims are batched under load, but a single free slot must not wait
    // for the long jobs holding the others.
    let store = db.store().await;
    let mut config = fast_config();
    config.poll_interval = std::time::Duration::from_secs(60);
    config.maintenance = false;
    let client = Client::builder(store.clone())
        .queue("q", 4)
        .config(config)
        .register_fn("long", |_ctx| async {
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
            Ok(())
        })
        .register_fn("short", |_ctx| async { Ok(()) })
        .build()
        .expect("client");
    for _ in 0..3 {
        store
            .job_insert(&NewJob::new("q", "long", json!({})))
            .await
            .expect("insert");
    }
    let short = store
        .job_insert(&NewJob::new("q", "short", json!({})).with_priority(1))
        .await
        .expect("insert")
        .job
        .id;
    let next = store
        .job_insert(&NewJob::new("q", "short", json!({})).with_priority(2))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    super::support::eventually("both short jobs done beside the long ones", || async {
        let done = |id| {
            let store = store.clone();
            async move {
                store.job_get(id).await.expect("get").expect("row").state == JobState::Completed
            }
        };
        done(short).await && done(next).await
    })
    .await;
    let long_running = store
        .queue_counts()
        .await
        .expect("counts")
        .iter()
        .filter(|c| c.state == JobState::Running)
        .map(|c| c.count)
        .sum::<i64>();
    assert_eq!(long_running, 3, "the long jobs still hold their slots");
    drop(running);
}

/// Connections reset under two draining clients (the test kit's proxy closes
/// every connection through it, five times): idempotent jobs all complete;
/// at-most-once jobs never run twice, and each ends completed or in doubt —
/// none is lost or stuck.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_drain_lose_nothing_and_repeat_no_at_most_once_job() {
    let db = TestDb::new(oncely_testkit::Backend::Postgres).await;
    let observer = db.store().await;
    let proxy = oncely_testkit::StallProxy::start(db.postgres_addr()).await;
    let mut ids = Vec::new();
    for i in 0..600 {
        let job = NewJob::new("resets", "count", json!({ "i": i }));
        let job = if i % 6 == 0 { job.at_most_once() } else { job };
        ids.push(observer.job_insert(&job).await.expect("insert").job.id);
    }
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut running = Vec::new();
    for _ in 0..2 {
        let runs = runs.clone();
        let through = oncely::connect(&proxy.url_for(&db.url))
            .await
            .expect("connect through the proxy");
        let client = Client::builder(through)
            .queue("resets", 4)
            .config(fast_config().with_lease(std::time::Duration::from_secs(3)))
            .register_fn("count", move |ctx| {
                let runs = runs.clone();
                async move {
                    *runs.lock().expect("lock").entry(ctx.id()).or_default() += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Ok(())
                }
            })
            .build()
            .expect("client");
        running.push(client.start());
    }
    // 8 slots of 20 ms jobs: the drain lasts over a second; cut during it.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        proxy.cut_connections();
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let counts = observer.queue_counts().await.expect("counts");
        let settled: i64 = counts
            .iter()
            .filter(|c| matches!(c.state, JobState::Completed | JobState::InDoubt))
            .map(|c| c.count)
            .sum();
        if settled == ids.len() as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {counts:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for r in running {
        r.shutdown().await;
    }
    let runs = runs.lock().expect("lock").clone();
    let mut in_doubt = 0;
    for (n, &id) in ids.iter().enumerate() {
        let job = observer.job_get(id).await.expect("get").expect("row");
        let ran = runs.get(&id).copied().unwrap_or(0);
        if n % 6 == 0 {
            assert!(ran <= 1, "at-most-once job {id} ran {ran} times");
            in_doubt += usize::from(job.state == JobState::InDoubt);
        } else {
            assert_eq!(job.state, JobState::Completed, "job {id}");
            assert!(ran >= 1, "job {id} completed without running");
        }
    }
    println!(
        "connections reset 5 times: 600 jobs settled, {in_doubt} at-most-once jobs held in doubt, {} runs in all",
        runs.values().sum::<u32>()
    );
}
