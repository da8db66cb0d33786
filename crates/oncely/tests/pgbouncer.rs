//! Behind PgBouncer in transaction pooling mode (the test kit's
//! [`Bouncer`], three server connections shared by every client
//! connection): with `?pooler=transaction` oncely runs every statement
//! unnamed and in a transaction of its own, and workers run each job once;
//! LISTEN goes straight to PostgreSQL when `listen=` names it, polling
//! otherwise. Without the parameter, named statements break there — the
//! reason the mode exists.

#[path = "runtime/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oncely::store::ClaimParams;
use oncely::{Client, NewJob};
use oncely_testkit::{Backend, Bouncer, Cluster, PoolMode, TestDb};
use serde_json::json;

use support::{eventually, fast_config};

async fn bouncer() -> (TestDb, String, Bouncer) {
    let db = TestDb::new(Backend::Postgres).await;
    let name = db
        .url
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let port = Cluster::shared().port();
    let bouncer =
        tokio::task::spawn_blocking(move || Bouncer::start(port, PoolMode::Transaction, 3))
            .await
            .expect("join")
            .unwrap_or_else(|e| panic!("{e}"));
    (db, name, bouncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_behind_a_transaction_pooler_run_each_job_once() {
    let (_db, name, bouncer) = bouncer().await;
    let url = bouncer.url(&name, false);
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut clients = Vec::new();
    for n in 0..2 {
        // Ten client connections each, over three server connections.
        let store = oncely::connect(&url)
            .await
            .expect("connect through pgbouncer");
        let record = runs.clone();
        let client = Client::builder(store)
            .queue("q", 8)
            .config(oncely::worker::ClientConfig {
                worker_id: format!("w{n}"),
                ..fast_config()
            })
            .register_fn("k", move |ctx| {
                let record = record.clone();
                async move {
                    ctx.step("half", || async { Ok(json!(1)) }).await?;
                    *record
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(ctx.job().id)
                        .or_default() += 1;
                    Ok(())
                }
            })
            .build()
            .expect("client");
        clients.push(client);
    }
    let running: Vec<_> = clients.iter().map(Client::start).collect();
    let store = oncely::connect(&url).await.expect("connect");
    let jobs: Vec<NewJob> = (0..150)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })))
        .collect();
    store.job_insert_many(&jobs).await.expect("bulk insert");
    for i in 0..150 {
        store
            .job_insert(&NewJob::new("q", "k", json!({ "j": i })).with_unique_key(format!("u{i}")))
            .await
            .expect("insert");
    }
    eventually("300 jobs ran", || {
        let n = runs.lock().map(|r| r.len()).unwrap_or(0);
        async move { n >= 300 }
    })
    .await;
    for r in running {
        r.shutdown().await;
    }
    let runs = runs.lock().expect("runs").clone();
    assert_eq!(runs.len(), 300);
    assert!(runs.values().all(|&n| n == 1), "each job ran once");
    let counts = store.queue_counts().await.expect("counts");
    let completed: i64 = counts
        .iter()
        .filter(|c| c.state == oncely::JobState::Completed)
        .map(|c| c.count)
        .sum();
    assert_eq!(completed, 300);
}

/// With `listen=` a worker hears of a new job at once although its poll
/// interval is long; without it a transaction-mode store offers no listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_goes_straight_to_postgres_or_workers_poll() {
    let (_db, name, bouncer) = bouncer().await;
    let polling = oncely::connect(&bouncer.url(&name, false))
        .await
        .expect("connect");
    assert!(polling.listen().await.expect("listen").is_none());
    let store = oncely::connect(&bouncer.url(&name, true))
        .await
        .expect("connect");
    let ran = Arc::new(Mutex::new(0u32));
    let record = ran.clone();
    let client = Client::builder(store.clone())
        .queue("q", 2)
        .config(oncely::worker::ClientConfig {
            poll_interval: Duration::from_secs(60),
            ..fast_config()
        })
        .register_fn("k", move |_| {
            let record = record.clone();
            async move {
                *record
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let running = client.start();
    // Let the listener subscribe, then enqueue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    store
        .job_insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert");
    eventually("the job ran on its notification", || {
        let n = *ran.lock().expect("ran");
        async move { n == 1 }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "woken by the notification, not the 60 s poll"
    );
    running.shutdown().await;
}

/// The control: without `pooler=transaction` oncely prepares named
/// statements, which a transaction pooler hands to other server
/// connections — claims and inserts from several connections fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_pooler_setting_named_statements_break_behind_it() {
    let (_db, name, bouncer) = bouncer().await;
    let plain = format!("postgres://postgres@127.0.0.1:{}/{name}", bouncer.port());
    let store = oncely::connect(&plain).await.expect("connect");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut failures = 0;
            for j in 0..20 {
                let insert = store
                    .job_insert(&NewJob::new("q", "k", json!({ "i": i, "j": j })))
                    .await;
                let claim = store
                    .job_claim(&ClaimParams {
                        queue: "q".into(),
                        kinds: vec!["k".into()],
                        limit: 1,
                        lease: Duration::from_secs(30),
                        worker_id: format!("c{i}"),
                    })
                    .await;
                failures += usize::from(insert.is_err()) + usize::from(claim.is_err());
            }
            failures
        }));
    }
    let mut failures = 0;
    for t in tasks {
        failures += t.await.expect("join");
    }
    assert!(
        failures > 0,
        "named statements through a transaction pooler should have failed"
    );
}
