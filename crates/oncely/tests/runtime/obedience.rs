//! An attempt obeys its kind's policy, its lease and the operator, whatever
//! inserted the job and whatever the network does: the kind's policy wins
//! over the row's flags on every insert path; an attempt cut off from its
//! database stops before its lease can end; a cancelled attempt is over
//! before the job can run again; "not done" on the last attempt runs again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use oncely::worker::{EffectPolicy, Reconciliation};
use oncely::{Client, Error, JobContext, JobError, JobState, NewJob, Store, Worker};
use oncely_testkit::{Backend, StallProxy, TestDb};
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

/// When each attempt of a job ran: `(attempt, start, end)`; the end is
/// recorded when the handler's future is dropped, however it stops.
type Spans = Arc<Mutex<Vec<(i32, Instant, Option<Instant>)>>>;

/// Records the end of an attempt's span when dropped.
struct SpanGuard {
    spans: Spans,
    index: usize,
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        spans[self.index].2 = Some(Instant::now());
    }
}

fn open_span(spans: &Spans, attempt: i32) -> SpanGuard {
    let mut list = spans.lock().unwrap_or_else(|p| p.into_inner());
    list.push((attempt, Instant::now(), None));
    SpanGuard {
        spans: spans.clone(),
        index: list.len() - 1,
    }
}

fn assert_no_overlap(spans: &Spans) {
    let list = spans.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for pair in list.windows(2) {
        let (a, _, a_end) = pair[0];
        let (b, b_start, _) = pair[1];
        let a_end = a_end.unwrap_or_else(|| panic!("attempt {a} never ended: {list:?}"));
        assert!(
            a_end <= b_start,
            "attempt {b} started before attempt {a} ended: {list:?}"
        );
    }
}

/// A kind whose worker declares at-most-once, and whose attempts hang.
struct Hangs {
    started: Arc<AtomicU32>,
}

#[async_trait]
impl Worker for Hangs {
    async fn work(&self, _ctx: JobContext) -> Result<(), JobError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok(())
    }

    fn policy(&self) -> EffectPolicy {
        EffectPolicy::AtMostOnce
    }
}

/// Inserts an idempotent-flagged job of kind `k` through one of the paths
/// that do not know the worker's policy.
async fn insert_unaware(db: &TestDb, store: &Store, path: &str) {
    let job = NewJob::new("q", "k", json!({ "path": path }));
    assert!(!job.at_most_once);
    match path {
        "store" => {
            store.job_insert(&job).await.expect("insert");
        }
        "many" => {
            store
                .job_insert_many(std::slice::from_ref(&job))
                .await
                .expect("insert many");
        }
        _ => {
            db.insert_in_transaction(&job).await;
        }
    }
}

both!(the_kinds_policy_wins_over_the_rows_on_every_insert_path);
async fn the_kinds_policy_wins_over_the_rows_on_every_insert_path(db: TestDb) {
    let store = db.store().await;
    for path in ["store", "many", "tx"] {
        insert_unaware(&db, &store, path).await;
    }
    let started = Arc::new(AtomicU32::new(0));
    let mut config = fast_config();
    config.maintenance = false;
    let client = Client::builder(store.clone())
        .queue("q", 3)
        .config(config)
        .register(
            "k",
            Hangs {
                started: started.clone(),
            },
        )
        .build()
        .expect("client");
    let running = client.start();
    eventually("three attempts started", || async {
        started.load(Ordering::SeqCst) == 3
    })
    .await;
    // Every row now says at-most-once, before any handler ran.
    let rows = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|j| j.at_most_once), "{rows:?}");
    assert_eq!(client.stats().snapshot().policy_raised, 3);
    // The server dies mid-attempt: its leases run out, and the rescuer
    // (run here by a process that has no worker for the kind at all) puts
    // the jobs in doubt instead of running them again.
    drop(running);
    db.expire_leases().await;
    store.job_rescue_expired(100).await.expect("rescue");
    for j in store.job_list(&Default::default()).await.expect("list") {
        assert_eq!(j.state, JobState::InDoubt, "{:?}", j.args);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_cut_off_from_its_database_stops_before_its_lease_can_end() {
    let db = TestDb::new(Backend::Postgres).await;
    let observer = db.store().await;
    let proxy = StallProxy::start(db.postgres_addr()).await;
    let through = oncely::connect(&proxy.url_for(&db.url))
        .await
        .expect("connect through the proxy");
    let spans: Spans = Default::default();
    let recorded = spans.clone();
    // Maintenance runs in the rescuer below, on a direct connection.
    let mut config = fast_config();
    config.maintenance = false;
    let client = Client::builder(through)
        .queue("q", 1)
        .config(config)
        .register_fn("k", move |ctx| {
            let spans = recorded.clone();
            async move {
                let first = spans.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
                let _span = open_span(&spans, ctx.attempt());
                if first {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                }
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = observer
        .job_insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("attempt 1 running", || async {
        !spans.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    })
    .await;
    // Let a heartbeat renew the lease, then cut the network.
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.stall();
    let stalled_at = Instant::now();
    eventually("attempt 1 stopped", || async {
        spans.lock().unwrap_or_else(|p| p.into_inner())[0]
            .2
            .is_some()
    })
    .await;
    // Stopped while the database still holds the lease for it.
    let now = observer.db_now().await.expect("now");
    let row = observer.job_get(id).await.expect("get").expect("row");
    let lease_end = row.lease_expires_at.expect("still leased in the database");
    assert_eq!(row.state, JobState::Running);
    assert!(
        now < lease_end,
        "attempt 1 stopped at {now}, after its lease ended at {lease_end}"
    );
    assert!(stalled_at.elapsed() < Duration::from_secs(3));
    // The network comes back; the lease is handed back (or the rescuer takes
    // the job once it has ended) and the job runs once more, after.
    proxy.resume();
    let rescuer = Client::builder(observer.clone())
        .queue("other", 1)
        .config(fast_config())
        .build()
        .expect("rescuer");
    let rescuing = rescuer.start();
    eventually("completed by the next run", || async {
        state_of(&observer, id).await == JobState::Completed
    })
    .await;
    rescuing.shutdown().await;
    running.shutdown().await;
    assert_eq!(client.stats().snapshot().stopped_at_deadline, 1);
    assert_no_overlap(&spans);
}

both!(a_cancelled_attempt_has_ended_before_the_job_runs_again);
async fn a_cancelled_attempt_has_ended_before_the_job_runs_again(db: TestDb) {
    cancel_then_retry(db, fast_config()).await
}

both!(a_long_cancel_grace_cannot_outlive_the_lease);
async fn a_long_cancel_grace_cannot_outlive_the_lease(db: TestDb) {
    // The handler ignores its stop signal and the grace is a minute: it is
    // still aborted before the lease could end (heartbeats stopped with the
    // cancel), never left running once the job can be retried.
    let mut config = fast_config();
    config.cancel_grace = Duration::from_secs(60);
    cancel_then_retry(db, config).await
}

async fn cancel_then_retry(db: TestDb, config: oncely::worker::ClientConfig) {
    let store = db.store().await;
    let spans: Spans = Default::default();
    let recorded = spans.clone();
    let client = Client::builder(store.clone())
        .queue("q", 2)
        .config(config)
        .register_fn("k", move |ctx| {
            let spans = recorded.clone();
            async move {
                let _span = open_span(&spans, ctx.attempt());
                if ctx.attempt() == 1 {
                    // Ignores the stop signal: it must be aborted.
                    tokio::time::sleep(Duration::from_secs(600)).await;
                }
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("attempt 1 running", || async {
        !spans.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    })
    .await;
    store
        .job_cancel(id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    // The operator's retry right after the cancel is refused...
    match store.job_retry_now(id, &oncely_testkit::tester()).await {
        Err(Error::InvalidTransition { state, .. }) => assert_eq!(state, JobState::Running),
        other => panic!("retry while the attempt may still act: {other:?}"),
    }
    // ...until the attempt has stopped and recorded the cancel.
    eventually("cancelled", || async {
        state_of(&store, id).await == JobState::Cancelled
    })
    .await;
    assert!(spans.lock().unwrap_or_else(|p| p.into_inner())[0]
        .2
        .is_some());
    store
        .job_retry_now(id, &oncely_testkit::tester())
        .await
        .expect("retry");
    eventually("completed", || async {
        state_of(&store, id).await == JobState::Completed
    })
    .await;
    running.shutdown().await;
    assert_no_overlap(&spans);
    assert_eq!(spans.lock().unwrap_or_else(|p| p.into_inner()).len(), 2);
}

/// A reconcilable kind whose first attempt is uncertain and whose reconcile
/// step finds nothing happened.
struct NotDoneOnce {
    works: Arc<AtomicU32>,
}

#[async_trait]
impl Worker for NotDoneOnce {
    async fn work(&self, _ctx: JobContext) -> Result<(), JobError> {
        if self.works.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(JobError::InDoubt("connection dropped".into()));
        }
        Ok(())
    }

    fn policy(&self) -> EffectPolicy {
        EffectPolicy::Reconcilable
    }

    async fn reconcile(&self, _ctx: JobContext) -> Reconciliation {
        Reconciliation::NotDone
    }
}

both!(not_done_on_the_last_attempt_runs_the_job_again);
async fn not_done_on_the_last_attempt_runs_the_job_again(db: TestDb) {
    let store = db.store().await;
    let works = Arc::new(AtomicU32::new(0));
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register(
            "k",
            NotDoneOnce {
                works: works.clone(),
            },
        )
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "k", json!({})).with_max_attempts(1))
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
        works.load(Ordering::SeqCst),
        2,
        "ran again after 'not done'"
    );
    assert_eq!((j.attempt, j.reruns), (2, 1));
}

both!(a_step_that_ran_but_could_not_be_stored_leaves_an_at_most_once_job_in_doubt);
async fn a_step_that_ran_but_could_not_be_stored_leaves_an_at_most_once_job_in_doubt(db: TestDb) {
    let store = db.store().await;
    let effects = Arc::new(AtomicU32::new(0));
    let counted = effects.clone();
    let url = db.url.clone();
    let backend = db.backend;
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register_fn("k", move |ctx| {
            let effects = counted.clone();
            let url = url.clone();
            async move {
                ctx.step("charge", || async {
                    effects.fetch_add(1, Ordering::SeqCst);
                    // The recovery point cannot be written: its table is gone.
                    break_steps_table(backend, &url).await;
                    Ok(1u32)
                })
                .await?;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "k", json!({})).at_most_once())
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("in doubt", || async {
        state_of(&store, id).await == JobState::InDoubt
    })
    .await;
    running.shutdown().await;
    assert_eq!(
        effects.load(Ordering::SeqCst),
        1,
        "never run again on its own"
    );
    let j = store.job_get(id).await.expect("get").expect("row");
    assert!(
        j.errors
            .iter()
            .any(|e| e.error.contains("ran but its result could not be stored")),
        "{:?}",
        j.errors
    );
}

async fn break_steps_table(backend: Backend, url: &str) {
    use sqlx::Connection;
    let sql = "ALTER TABLE oncely_job_steps RENAME TO oncely_job_steps_gone";
    match backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("rename");
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("rename");
        }
        Backend::MariaDb => {
            let mut c = oncely::store::mariadb::connect_one(url)
                .await
                .expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("rename");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_cancel_reaches_the_attempt_before_its_next_heartbeat() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let started = Arc::new(AtomicU32::new(0));
    let seen = started.clone();
    // Heartbeats every 10 s: a cancel seen within a few seconds was pushed.
    let config = oncely::worker::ClientConfig {
        poll_interval: Duration::from_millis(100),
        ..fast_config().with_lease(Duration::from_secs(30))
    };
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(config)
        .register_fn("k", move |_ctx| {
            let started = seen.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("running", || async { started.load(Ordering::SeqCst) == 1 }).await;
    let asked = Instant::now();
    store
        .job_cancel(id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    eventually("cancelled", || async {
        state_of(&store, id).await == JobState::Cancelled
    })
    .await;
    let took = asked.elapsed();
    running.shutdown().await;
    assert!(
        took < Duration::from_secs(5),
        "the cancel waited for a heartbeat ({took:?}); it should be announced"
    );
}
