//! Leadership and periodic jobs through running clients; pruning under load.

use std::time::{Duration, Instant};

use oncely::maintenance::pruner::{Pruner, PrunerConfig};
use oncely::schedule::{CatchUp, Schedule, Spec};
use oncely::worker::ClientConfig;
use oncely::{Client, JobState, NewJob};
use oncely_testkit::{Backend, TestDb};
use serde_json::json;

use super::support::{eventually, fast_config};

fn leader_config(id: &str) -> ClientConfig {
    let mut config = fast_config();
    config.worker_id = id.into();
    config.leader.ttl = Duration::from_secs(2);
    config.periodic.interval = Duration::from_millis(200);
    config
}

fn client(store: oncely::Store, id: &str, schedule: Option<Schedule>) -> Client {
    let mut builder = Client::builder(store)
        .queue("q", 4)
        .config(leader_config(id))
        .register_fn("tick", |_ctx| async { Ok(()) });
    if let Some(s) = schedule {
        builder = builder.periodic(s);
    }
    builder.build().expect("client")
}

both!(a_resigning_leader_is_replaced_at_once);
async fn a_resigning_leader_is_replaced_at_once(db: TestDb) {
    let store = db.store().await;
    let a = client(db.store().await, "a", None);
    let b = client(db.store().await, "b", None);
    let run_a = a.start();
    eventually("a leads", || async {
        store
            .leader_get()
            .await
            .expect("get")
            .is_some_and(|l| l.leader_id == "a")
    })
    .await;
    let run_b = b.start();
    let first = store.leader_get().await.expect("get").expect("leader");
    let resigned_at = Instant::now();
    run_a.shutdown().await;
    eventually("b leads", || async {
        store
            .leader_get()
            .await
            .expect("get")
            .is_some_and(|l| l.leader_id == "b")
    })
    .await;
    let took = resigned_at.elapsed();
    let second = store.leader_get().await.expect("get").expect("leader");
    assert!(second.term > first.term);
    println!(
        "{:?}: leadership handed over {took:.2?} after resignation (ttl 2 s)",
        db.backend
    );
    run_b.shutdown().await;
}

both!(two_clients_fire_each_period_once);
async fn two_clients_fire_each_period_once(db: TestDb) {
    let store = db.store().await;
    let mut schedule = Schedule::new(
        "tick",
        Spec::every(Duration::from_secs(1)),
        "q",
        "tick",
        json!({}),
    );
    schedule.catch_up = CatchUp::All { max: 100 };
    let a = client(db.store().await, "a", Some(schedule.clone()));
    let b = client(db.store().await, "b", Some(schedule));
    let (run_a, run_b) = (a.start(), b.start());
    eventually("five periods completed", || async {
        let counts = store.queue_counts().await.expect("counts");
        counts
            .iter()
            .any(|c| c.state == JobState::Completed && c.count >= 5)
    })
    .await;
    run_a.shutdown().await;
    run_b.shutdown().await;
    let jobs = store.job_list(&Default::default()).await.expect("list");
    let mut keys: Vec<_> = jobs.iter().filter_map(|j| j.unique_key.clone()).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(n, keys.len(), "a period fired twice");
    assert_eq!(n, jobs.len());
}

both!(pruning_100k_jobs_while_workers_claim);
async fn pruning_100k_jobs_while_workers_claim(db: TestDb) {
    let store = db.store().await;
    // 100,000 finished jobs from two days ago, written in bulk.
    let bulk = match db.backend {
        Backend::Postgres => "INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key, finalized_at)
             SELECT 'old', 'k', '{}', 'completed', 1, 'k' || g, now() - interval '2 days'
             FROM generate_series(1, 100000) g",
        Backend::Sqlite => "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000)
             INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key, run_at, created_at, finalized_at)
             SELECT 'old', 'k', '{}', 'completed', 1, 'k' || n,
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-172800 seconds'),
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-172800 seconds'),
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-172800 seconds')
             FROM g",
        Backend::MariaDb => "SET SESSION max_recursive_iterations = 200000;
             INSERT INTO oncely_jobs (queue, kind, args, state, max_attempts, idempotency_key, run_at, created_at, finalized_at)
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000)
             SELECT 'old', 'k', '{}', 'completed', 1, CONCAT('k', n),
                    UTC_TIMESTAMP(6) - INTERVAL 2 DAY, UTC_TIMESTAMP(6) - INTERVAL 2 DAY,
                    UTC_TIMESTAMP(6) - INTERVAL 2 DAY
             FROM g",
    };
    db.exec(bulk).await;
    for _ in 0..500 {
        store
            .job_insert(&NewJob::new("q", "tick", json!({})))
            .await
            .expect("insert");
    }
    let mut config = fast_config();
    config.maintenance = false;
    let worker = Client::builder(db.store().await)
        .queue("q", 4)
        .config(config)
        .register_fn("tick", |_ctx| async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(())
        })
        .build()
        .expect("client");
    let running = worker.start();
    let term = store
        .leader_attempt_elect("pruner", Duration::from_secs(60))
        .await
        .expect("elect")
        .expect("leader");
    let pruner = Pruner::new(
        db.store().await,
        PrunerConfig {
            batch: 5_000,
            pause: Duration::from_millis(1),
            ..Default::default()
        },
    );
    let started = Instant::now();
    let report = pruner.run_once(&term).await.expect("prune");
    let took = started.elapsed();
    eventually("workers drained their queue", || async {
        let counts = store.queue_counts().await.expect("counts");
        counts
            .iter()
            .any(|c| c.queue == "q" && c.state == JobState::Completed && c.count == 500)
    })
    .await;
    running.shutdown().await;
    assert_eq!(report.jobs, 100_000);
    assert!(report.batches >= 20, "{report:?}");
    let counts = store.queue_counts().await.expect("counts");
    assert!(
        counts.iter().all(|c| c.queue == "q"),
        "old jobs gone: {counts:?}"
    );
    println!(
        "{:?}: pruned 100,000 jobs in {} batches in {took:.2?} while a worker drained 500 jobs",
        db.backend, report.batches
    );
}

both!(broken_schedules_do_not_stop_the_others);
async fn broken_schedules_do_not_stop_the_others(db: TestDb) {
    let store = db.store().await;
    // Rows no current binary would write: an absurd interval (the one that
    // used to panic the leader), a spec of an unknown type, a bad cron.
    for (name, spec) in [
        ("huge", r#"{"type":"every","seconds":18446744073709551615}"#),
        ("alien", r#"{"type":"lunar","phase":"full"}"#),
        (
            "badcron",
            r#"{"type":"cron","expr":"99 * * * *","tz":"UTC"}"#,
        ),
    ] {
        db.insert_raw_schedule(name, spec, "q", "tick", "{}").await;
    }
    let every_second = Schedule::new(
        "tick",
        Spec::every(Duration::from_secs(1)),
        "q",
        "tick",
        json!({}),
    );
    let c = client(db.store().await, "a", Some(every_second));
    let running = c.start();
    eventually("the good schedule fires twice", || async {
        store
            .job_list(&Default::default())
            .await
            .expect("list")
            .iter()
            .filter(|j| {
                j.kind == "tick"
                    && j.unique_key
                        .as_deref()
                        .is_some_and(|k| k.starts_with("schedule:tick:"))
            })
            .count()
            >= 2
    })
    .await;
    running.shutdown().await;
    let listing = store.schedule_list().await.expect("list");
    assert_eq!(listing.records.len(), 1);
    let mut broken: Vec<&str> = listing.broken.iter().map(|b| b.name.as_str()).collect();
    broken.sort_unstable();
    assert_eq!(broken, ["alien", "badcron", "huge"]);
    let huge = listing
        .broken
        .iter()
        .find(|b| b.name == "huge")
        .expect("huge");
    assert!(huge.reason.contains("too long"), "{}", huge.reason);
    assert_eq!(
        c.stats().snapshot().maintenance_failures,
        0,
        "skipped, not failed"
    );
}

both!(a_failing_service_is_retried_and_a_leader_that_keeps_failing_resigns);
async fn a_failing_service_is_retried_and_a_leader_that_keeps_failing_resigns(db: TestDb) {
    let store = db.store().await;
    let mut config = leader_config("a");
    config.pruner.interval = Duration::from_millis(20);
    let c = Client::builder(db.store().await)
        .queue("q", 2)
        .config(config)
        .register_fn("tick", |_ctx| async { Ok(()) })
        .build()
        .expect("client");
    let running = c.start();
    eventually("a leads", || async {
        store
            .leader_get()
            .await
            .expect("leader")
            .is_some_and(|l| l.leader_id == "a")
    })
    .await;
    let elected = store.leader_get().await.expect("leader").expect("row");
    // The pruner's table disappears: every pruner pass fails from now on.
    db.exec("ALTER TABLE oncely_schedule_firings RENAME TO oncely_schedule_firings_gone")
        .await;
    // The rescuer keeps working meanwhile: an expired lease is rescued.
    let id = store
        .job_insert(&NewJob::new("other", "x", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    store
        .job_claim(&oncely::store::ClaimParams {
            queue: "other".into(),
            kinds: vec!["x".into()],
            limit: 1,
            lease: Duration::from_secs(30),
            worker_id: "gone".into(),
        })
        .await
        .expect("claim");
    db.expire_leases().await;
    eventually("rescued while the pruner fails", || async {
        store.job_get(id).await.expect("get").expect("row").state == JobState::Retryable
    })
    .await;
    // After five failed passes in a row the leader resigns.
    eventually("a resigned", || async {
        let now = store.db_now().await.expect("now");
        store
            .leader_get()
            .await
            .expect("leader")
            .is_some_and(|l| l.expires_at <= now)
    })
    .await;
    assert!(c.stats().snapshot().maintenance_failures >= 5);
    db.exec("ALTER TABLE oncely_schedule_firings_gone RENAME TO oncely_schedule_firings")
        .await;
    // It sits out one leadership lease, then leads again with a new term.
    eventually("a leads again", || async {
        let now = store.db_now().await.expect("now");
        store
            .leader_get()
            .await
            .expect("leader")
            .is_some_and(|l| l.leader_id == "a" && l.expires_at > now && l.term > elected.term)
    })
    .await;
    running.shutdown().await;
}
