//! PostgreSQL failover: a primary and a streaming standby (the test kit's
//! [`ReplicatedPair`]), the primary killed with -9, the standby promoted.
//! A client connected through a URL naming both hosts follows the new
//! primary on its own; fencing tokens issued after the promotion are greater
//! than every token issued before it, also when asynchronous replication
//! lost the old primary's last claims — so a write of an attempt the new
//! primary never saw is refused.

#[path = "runtime/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oncely::store::{ClaimParams, Fence, PrimaryCheck};
use oncely::{Client, Error, JobState, NewJob};
use oncely_testkit::{ReplicatedPair, Replication};
use serde_json::json;

use support::{eventually, fast_config};

async fn pair(replication: Replication) -> ReplicatedPair {
    tokio::task::spawn_blocking(move || ReplicatedPair::start(replication))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("starting a primary and a standby: {e}"))
}

/// Runs one step of the test kit's pair off the async runtime.
async fn on_pair(pair: &Arc<ReplicatedPair>, step: fn(&ReplicatedPair) -> Result<(), String>) {
    let p = pair.clone();
    tokio::task::spawn_blocking(move || step(&p))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{e}"));
}

fn epoch(fence: i64) -> i64 {
    fence >> 40
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_follows_a_promoted_standby_and_its_tokens_go_up() {
    let pair = pair(Replication::Synchronous).await;
    let store = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let seen: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let record = seen.clone();
    let client = Client::builder(store.clone())
        .queue("q", 4)
        .config(fast_config())
        .register_fn("k", move |ctx| {
            let record = record.clone();
            async move {
                let job = ctx.job();
                record
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((job.id, job.fence));
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let run = client.start();
    let first: Vec<NewJob> = (0..40)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })).with_unique_key(format!("before-{i}")))
        .collect();
    store.job_insert_many(&first).await.expect("insert");
    eventually("some jobs run on the first primary", || {
        let n = seen.lock().map(|s| s.len()).unwrap_or(0);
        async move { n >= 10 }
    })
    .await;
    let pair = Arc::new(pair);
    on_pair(&pair, ReplicatedPair::fail_over).await;
    // The same store reaches the new primary on its own (the client checks
    // every second); inserts are idempotent by their unique keys.
    let more: Vec<NewJob> = (0..40)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })).with_unique_key(format!("after-{i}")))
        .collect();
    eventually("an insert reaches the new primary", || {
        let (store, more) = (store.clone(), more.clone());
        async move { store.job_insert_many(&more).await.is_ok() }
    })
    .await;
    eventually("every job completes on the new primary", || {
        let store = store.clone();
        async move {
            store.queue_counts().await.is_ok_and(|counts| {
                let total: i64 = counts.iter().map(|c| c.count).sum();
                let done: i64 = counts
                    .iter()
                    .filter(|c| c.state == JobState::Completed)
                    .map(|c| c.count)
                    .sum();
                total == 80 && done == 80
            })
        }
    })
    .await;
    run.shutdown().await;
    assert_eq!(
        store.ensure_primary().await.expect("check"),
        PrimaryCheck::Unchanged
    );
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let promoted = sqlx::PgPool::connect(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        pair.standby.port()
    ))
    .await
    .expect("connect to the promoted standby");
    let timeline: i64 = sqlx::query_scalar(
        "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint",
    )
    .fetch_one(&promoted)
    .await
    .expect("timeline");
    promoted.close().await;
    let epochs: HashSet<i64> = seen.iter().map(|s| epoch(s.1)).collect();
    assert!(
        timeline >= 2,
        "a promotion starts a new timeline (got {timeline}; epochs {epochs:?})"
    );
    let old: Vec<i64> = seen
        .iter()
        .map(|s| s.1)
        .filter(|f| epoch(*f) < timeline)
        .collect();
    let new: Vec<i64> = seen
        .iter()
        .map(|s| s.1)
        .filter(|f| epoch(*f) == timeline)
        .collect();
    assert!(
        !old.is_empty() && !new.is_empty(),
        "attempts on both sides: {seen:?}"
    );
    assert!(
        new.iter().min() > old.iter().max(),
        "every token after the promotion is greater than every token before it"
    );
    assert!(seen
        .iter()
        .all(|(_, f)| epoch(*f) == 1 || epoch(*f) == timeline));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_promotion_hands_out_greater_tokens_and_refuses_stale_writes() {
    let pair = pair(Replication::Asynchronous).await;
    let store = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let jobs: Vec<NewJob> = (0..1000)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })))
        .collect();
    store.job_insert_many(&jobs).await.expect("insert");
    let pair = Arc::new(pair);
    // Cut the standby off, claim a burst, kill the primary: the standby
    // never sees those claims.
    on_pair(&pair, ReplicatedPair::cut_standby_off).await;
    let params = ClaimParams {
        queue: "q".into(),
        kinds: vec!["k".into()],
        limit: 100,
        lease: Duration::from_secs(30),
        worker_id: "old-primary".into(),
    };
    let mut lost = Vec::new();
    for _ in 0..3 {
        lost.extend(store.job_claim(&params).await.expect("claim"));
    }
    on_pair(&pair, ReplicatedPair::fail_over).await;
    let after = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect after");
    let fresh = after
        .job_claim(&ClaimParams {
            worker_id: "new-primary".into(),
            limit: 500,
            ..params
        })
        .await
        .expect("claim on the new primary");
    let lost_ids: HashSet<i64> = lost.iter().map(|j| j.id).collect();
    let again: Vec<_> = fresh.iter().filter(|j| lost_ids.contains(&j.id)).collect();
    assert!(
        !again.is_empty(),
        "the burst of claims was lost with the old primary (the test needs that)"
    );
    let old_max = lost.iter().map(|j| j.fence).max().expect("claims");
    let new_min = fresh.iter().map(|j| j.fence).min().expect("claims");
    assert!(new_min > old_max, "{new_min} > {old_max}");
    // Without the epoch the same sequence values would be handed out again,
    // to the same jobs in the same order: the old attempt's write must fail.
    for job in lost.iter().filter(|j| again.iter().any(|a| a.id == j.id)) {
        match after.job_complete(Fence::of(job)).await {
            Err(Error::LeaseLost(_)) => {}
            other => panic!("a write with a token from before the failover: {other:?}"),
        }
    }
    for job in &again {
        after
            .job_complete(Fence::of(job))
            .await
            .expect("the new attempt completes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_lossy_promotion_at_most_once_jobs_are_held_before_any_claim() {
    let pair = Arc::new(pair(Replication::Asynchronous).await);
    let store = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let mut jobs: Vec<NewJob> = (0..50)
        .map(|i| NewJob::new("pay", "charge", json!({ "i": i })).at_most_once())
        .collect();
    jobs.extend((0..50).map(|i| NewJob::new("pay", "charge", json!({ "j": i }))));
    store.job_insert_many(&jobs).await.expect("insert");
    on_pair(&pair, ReplicatedPair::cut_standby_off).await;
    let params = ClaimParams {
        queue: "pay".into(),
        kinds: vec!["charge".into()],
        limit: 20,
        lease: Duration::from_secs(30),
        worker_id: "old-primary".into(),
    };
    let lost = store.job_claim(&params).await.expect("claim");
    assert!(
        lost.iter().any(|j| j.at_most_once),
        "the burst took at-most-once jobs"
    );
    on_pair(&pair, ReplicatedPair::fail_over).await;
    let after = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect after");
    // Before the new timeline is settled, nothing whose effect must not
    // repeat can be claimed; the others can.
    let early = after
        .job_claim(&ClaimParams {
            limit: 100,
            worker_id: "new-primary".into(),
            ..params.clone()
        })
        .await
        .expect("claim");
    assert_eq!(early.len(), 50, "every idempotent job, and only those");
    assert!(early.iter().all(|j| !j.at_most_once));
    let settled = after
        .epoch_settle()
        .await
        .expect("settle")
        .expect("a new timeline to settle");
    assert_eq!(
        settled.held, 50,
        "every at-most-once job was due and not running"
    );
    assert!(settled.epoch >= 2);
    assert_eq!(after.epoch_settle().await.expect("again"), None);
    let counts = after.queue_counts().await.expect("counts");
    let in_doubt: i64 = counts
        .iter()
        .filter(|c| c.state == JobState::InDoubt)
        .map(|c| c.count)
        .sum();
    assert_eq!(in_doubt, 50);
    assert!(after
        .job_claim(&ClaimParams {
            worker_id: "new-primary".into(),
            ..params
        })
        .await
        .expect("claim")
        .is_empty());
    // The reason says why, for the person who decides.
    let doubtful = after
        .job_list(&oncely::store::JobFilter {
            state: Some(JobState::InDoubt),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("list");
    let reason = &doubtful[0].errors.last().expect("reason").error;
    assert!(reason.contains("failover"), "{reason}");
}

/// An attempt that began before a failover gets no write accepted after it,
/// even where no newer attempt exists yet: the writes it made on the old
/// primary (its own tables, its steps) may be lost, so its completion would
/// certify work the database no longer shows. Its lease runs out and the job
/// runs again on the new timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_from_before_a_failover_gets_no_write_accepted_after_it() {
    let pair = Arc::new(pair(Replication::Synchronous).await);
    let store = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let jobs: Vec<NewJob> = (0..6)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })))
        .collect();
    store.job_insert_many(&jobs).await.expect("insert");
    let params = ClaimParams {
        queue: "q".into(),
        kinds: vec!["k".into()],
        limit: 6,
        lease: Duration::from_secs(1),
        worker_id: "old-primary".into(),
    };
    let old = store.job_claim(&params).await.expect("claim");
    assert_eq!(old.len(), 6);
    // Synchronous: the claims are on the standby too; nothing is lost.
    on_pair(&pair, ReplicatedPair::fail_over).await;
    let after = oncely::connect(&pair.url("postgres"))
        .await
        .expect("connect after");
    let refused = |what: &str, result: Result<(), Error>| match result {
        Err(Error::LeaseLost(lost)) => {
            assert!(
                lost.to_string().contains("failed over"),
                "{what}: the reason names the failover: {lost}"
            );
        }
        other => panic!("{what} with a token of the old timeline: {other:?}"),
    };
    let f = |i: usize| Fence::of(&old[i]);
    refused(
        "heartbeat",
        after
            .job_heartbeat(f(0), Duration::from_secs(30))
            .await
            .map(|_| ()),
    );
    refused("complete", after.job_complete(f(1)).await);
    refused("step", after.step_put(f(2), "s", &json!(1)).await);
    refused("discard", after.job_discard(f(3), "boom").await);
    let many = after.job_complete_many(&[f(4), f(5)]).await.expect("batch");
    for (i, one) in many.into_iter().enumerate() {
        refused(&format!("batched completion {i}"), one);
    }
    assert!(
        after
            .job_unclaim_many(&[f(0), f(1)])
            .await
            .expect("unclaim")
            .is_empty(),
        "no hand-back from the old timeline"
    );
    // Nothing changed: each job still runs under its old token, until its
    // lease ends; then it is rescued and claimed with a newer one.
    for job in &old {
        let now = after.job_get(job.id).await.expect("get").expect("row");
        assert_eq!((now.state, now.fence), (JobState::Running, job.fence));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rescued = after.job_rescue_expired(100).await.expect("rescue");
    assert_eq!(rescued.total(), 6, "{rescued:?}");
    let fresh = after
        .job_claim(&ClaimParams {
            worker_id: "new-primary".into(),
            ..params
        })
        .await
        .expect("claim on the new timeline");
    assert_eq!(fresh.len(), 6);
    for job in &fresh {
        assert!(epoch(job.fence) > epoch(old[0].fence));
        after
            .job_complete(Fence::of(job))
            .await
            .expect("the new attempt completes");
    }
}
