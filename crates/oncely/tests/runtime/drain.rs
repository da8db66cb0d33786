//! 8 clients drain 5,000 jobs: each runs exactly once, none is left.

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
