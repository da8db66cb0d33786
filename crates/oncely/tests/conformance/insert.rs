//! Inserting: defaults, scheduling, validation, unique keys.

use std::sync::Arc;

use chrono::Utc;
use oncely::{Error, JobState, NewJob};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::job;

both!(insert_sets_defaults);
async fn insert_sets_defaults(db: TestDb) {
    let store = db.store().await;
    let out = store.job_insert(&job()).await.expect("insert");
    assert!(out.inserted);
    let j = out.job;
    assert_eq!((j.queue.as_str(), j.kind.as_str()), ("q", "k"));
    assert_eq!(j.args, json!({"n": 1}));
    assert_eq!(j.state, JobState::Available);
    assert_eq!((j.attempt, j.fence), (0, 0));
    assert!(!j.idempotency_key.is_empty());
    assert_eq!(store.job_get(j.id).await.expect("get"), Some(j));
}

both!(future_run_at_is_scheduled);
async fn future_run_at_is_scheduled(db: TestDb) {
    let store = db.store().await;
    let later = Utc::now() + chrono::Duration::hours(1);
    let j = store
        .job_insert(&job().with_run_at(later))
        .await
        .expect("insert")
        .job;
    assert_eq!(j.state, JobState::Scheduled);
    assert!((j.run_at - later).num_milliseconds().abs() < 2);
}

both!(invalid_jobs_write_nothing);
async fn invalid_jobs_write_nothing(db: TestDb) {
    let store = db.store().await;
    for bad in [
        NewJob::new("bad queue!", "k", json!({})),
        NewJob::new("q", "k", json!("scalar")),
        job().with_priority(42),
        NewJob::new(
            "q",
            "k",
            json!({"blob": "x".repeat(oncely::job::MAX_ARGS_BYTES)}),
        ),
    ] {
        assert!(matches!(
            store.job_insert(&bad).await,
            Err(Error::Invalid(_))
        ));
    }
    assert!(store
        .job_list(&Default::default())
        .await
        .expect("list")
        .is_empty());
}

both!(duplicate_unique_key_returns_the_existing_job);
async fn duplicate_unique_key_returns_the_existing_job(db: TestDb) {
    let store = db.store().await;
    let first = store
        .job_insert(&job().with_unique_key("invoice:1"))
        .await
        .expect("first");
    let second = store
        .job_insert(&job().with_unique_key("invoice:1"))
        .await
        .expect("second");
    assert!(first.inserted);
    assert!(!second.inserted);
    assert_eq!(first.job.id, second.job.id);
    // Once the holder is final, the key is free again.
    store
        .job_cancel(first.job.id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    let third = store
        .job_insert(&job().with_unique_key("invoice:1"))
        .await
        .expect("third");
    assert!(third.inserted);
    assert_ne!(third.job.id, first.job.id);
}

both!(sixteen_racing_inserters_leave_one_row);
async fn sixteen_racing_inserters_leave_one_row(db: TestDb) {
    let stores: Vec<_> = futures_stores(&db, 4).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = stores[i % stores.len()].clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .job_insert(&job().with_unique_key("race"))
                .await
                .expect("insert")
        });
    }
    let mut ids = Vec::new();
    let mut inserted = 0;
    while let Some(out) = tasks.join_next().await {
        let out = out.expect("task");
        inserted += usize::from(out.inserted);
        ids.push(out.job.id);
    }
    ids.dedup();
    assert_eq!(inserted, 1, "exactly one insert took effect");
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "all saw one job: {ids:?}"
    );
    let all = stores[0].job_list(&Default::default()).await.expect("list");
    assert_eq!(all.len(), 1);
}

async fn futures_stores(db: &TestDb, n: usize) -> Vec<oncely::Store> {
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(db.store().await);
    }
    stores
}

both!(insert_many_skips_held_unique_keys);
async fn insert_many_skips_held_unique_keys(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().with_unique_key("k:1"))
        .await
        .expect("insert");
    let batch: Vec<NewJob> = (0..5)
        .map(|i| job().with_unique_key(format!("k:{i}")))
        .collect();
    assert_eq!(
        store.job_insert_many(&batch).await.expect("many"),
        4,
        "k:1 was held"
    );
    assert_eq!(
        store.job_insert_many(&batch).await.expect("many"),
        0,
        "all held now"
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let mixed = vec![
        job().reconcilable(),
        job().with_run_at(later).with_priority(3),
    ];
    assert_eq!(store.job_insert_many(&mixed).await.expect("many"), 2);
    let all = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(all.len(), 7);
    let flags: Vec<(bool, bool)> = all
        .iter()
        .map(|j| (j.at_most_once, j.reconcilable))
        .filter(|&flags| flags != (false, false))
        .collect();
    assert_eq!(flags, vec![(true, true)], "the policy flags are stored");
    assert_eq!(
        all.iter()
            .filter(|j| j.state == JobState::Scheduled)
            .count(),
        1
    );
    let bad = vec![job(), NewJob::new("bad queue", "k", json!({}))];
    assert!(matches!(
        store.job_insert_many(&bad).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        store
            .job_list(&Default::default())
            .await
            .expect("list")
            .len(),
        7,
        "nothing written"
    );
}

both!(bulk_and_single_inserts_store_the_same_job);
async fn bulk_and_single_inserts_store_the_same_job(db: TestDb) {
    let store = db.store().await;
    let later = Utc::now() + chrono::Duration::hours(2);
    let variants: Vec<NewJob> = vec![
        NewJob::new("bulk", "k", json!({"a": [1, 2, {"b": "é ünï \"q\""}]})),
        NewJob::new("bulk", "k:v", json!([1, "two", null]))
            .with_priority(7)
            .with_max_attempts(3),
        NewJob::new("bulk", "k", json!({})).with_run_at(later),
        NewJob::new("bulk", "k", json!({}))
            .at_most_once()
            .with_timeout(std::time::Duration::from_millis(1500)),
        NewJob::new("bulk", "k", json!({})).reconcilable(),
    ];
    let mut singles = Vec::new();
    for job in &variants {
        singles.push(store.job_insert(job).await.expect("single").job);
    }
    assert_eq!(
        store.job_insert_many(&variants).await.expect("bulk"),
        variants.len() as u64
    );
    let all = store.job_list(&Default::default()).await.expect("list");
    // Newest first: the bulk ones, in insertion order once reversed.
    let mut bulk: Vec<_> = all.iter().take(variants.len()).cloned().collect();
    bulk.reverse();
    let shape = |j: &oncely::Job| {
        (
            j.queue.clone(),
            j.kind.clone(),
            j.args.clone(),
            j.state,
            j.priority,
            j.max_attempts,
            j.at_most_once,
            j.reconcilable,
            j.timeout_ms,
            j.unique_key.clone(),
        )
    };
    for (single, bulk) in singles.iter().zip(&bulk) {
        assert_eq!(shape(single), shape(bulk));
        let apart = (single.run_at - bulk.run_at).num_milliseconds().abs();
        if single.state == JobState::Scheduled {
            assert!(
                apart < 5,
                "the same run_at: {} vs {}",
                single.run_at,
                bulk.run_at
            );
        }
        assert_ne!(
            single.idempotency_key, bulk.idempotency_key,
            "each its own key"
        );
    }
    assert_eq!(bulk[2].state, JobState::Scheduled);
}
