//! Claiming: limits, order, filters, attempts, fencing tokens, database time.

use std::time::Duration;

use chrono::Utc;
use oncely::store::Fence;
use oncely::JobState;
use oncely_testkit::TestDb;

use super::support::{claim_params, insert_and_claim, job};

both!(claim_takes_at_most_the_limit_in_priority_order);
async fn claim_takes_at_most_the_limit_in_priority_order(db: TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for priority in [5, 0, 9, 0, 3] {
        ids.push(
            store
                .job_insert(&job().with_priority(priority))
                .await
                .expect("insert")
                .job
                .id,
        );
    }
    let first = store.job_claim(&claim_params(3)).await.expect("claim");
    let got: Vec<i64> = first.iter().map(|j| j.id).collect();
    assert_eq!(got, vec![ids[1], ids[3], ids[4]], "priority 0, 0, 3");
    let rest = store.job_claim(&claim_params(10)).await.expect("claim");
    assert_eq!(
        rest.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    assert!(store
        .job_claim(&claim_params(10))
        .await
        .expect("claim")
        .is_empty());
}

both!(claim_respects_queue_kind_and_run_at);
async fn claim_respects_queue_kind_and_run_at(db: TestDb) {
    let store = db.store().await;
    let mut other_queue = job();
    other_queue.queue = "other".into();
    let mut other_kind = job();
    other_kind.kind = "unknown".into();
    store.job_insert(&other_queue).await.expect("insert");
    store.job_insert(&other_kind).await.expect("insert");
    store
        .job_insert(&job().with_run_at(Utc::now() + chrono::Duration::hours(1)))
        .await
        .expect("insert");
    assert!(store
        .job_claim(&claim_params(10))
        .await
        .expect("claim")
        .is_empty());
    db.make_due().await;
    assert_eq!(
        store
            .job_claim(&claim_params(10))
            .await
            .expect("claim")
            .len(),
        1
    );
}

both!(claim_sets_attempt_lease_and_a_growing_fence);
async fn claim_sets_attempt_lease_and_a_growing_fence(db: TestDb) {
    let store = db.store().await;
    let first = insert_and_claim(&store).await;
    assert_eq!(first.state, JobState::Running);
    assert_eq!(first.attempt, 1);
    assert!(first.fence > 0);
    assert_eq!(first.locked_by.as_deref(), Some("test-worker"));
    // The lease is 30 s from the database's clock.
    let now = store.db_now().await.expect("now");
    let lease = first.lease_expires_at.expect("lease") - now;
    assert!(lease <= chrono::Duration::seconds(30), "{lease:?}");
    assert!(lease > chrono::Duration::seconds(25), "{lease:?}");
    // Claimed again after its lease expired: a larger token, attempt 2.
    db.expire_leases().await;
    store.job_rescue_expired(100).await.expect("rescue");
    let again = store.job_claim(&claim_params(1)).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert!(again[0].fence > first.fence);
    // Another job's token is larger still: tokens grow across jobs.
    let other = insert_and_claim(&store).await;
    assert!(other.fence > again[0].fence);
}

both!(racing_claimers_never_share_a_job);
async fn racing_claimers_never_share_a_job(db: TestDb) {
    let store = db.store().await;
    for _ in 0..200 {
        store.job_insert(&job()).await.expect("insert");
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = db.store().await;
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = store.job_claim(&claim_params(7)).await.expect("claim");
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|j| j.id));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        all.extend(ids.expect("task"));
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "a job was claimed twice");
    assert_eq!(all.len(), 200);
}

both!(heartbeat_extends_from_database_time);
async fn heartbeat_extends_from_database_time(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    let until = store
        .job_heartbeat(oncely::Fence::of(&j), Duration::from_secs(600))
        .await
        .expect("heartbeat");
    let now = store.db_now().await.expect("now");
    let left = until.lease_expires_at - now;
    assert!(left > chrono::Duration::seconds(590) && left <= chrono::Duration::seconds(600));
}

/// SQLite only (PostgreSQL's claim writes nothing when it finds nothing): an
/// idle poll takes no write lock and reserves no fencing tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_claims_on_sqlite_write_nothing() {
    let db = TestDb::new(oncely_testkit::Backend::Sqlite).await;
    let store = db.store().await;
    let counter = "SELECT CAST(value AS TEXT) FROM oncely_fence_counter";
    let before = db.query_text(counter).await;
    for _ in 0..5 {
        assert!(store
            .job_claim(&claim_params(10))
            .await
            .expect("claim")
            .is_empty());
        assert!(store
            .job_claim_in_doubt(&claim_params(10), &super::support::reconcile(&["k"]))
            .await
            .expect("claim")
            .is_empty());
    }
    assert_eq!(db.query_text(counter).await, before, "no tokens reserved");
    // A due job is still claimed.
    store
        .job_insert(&super::support::job())
        .await
        .expect("insert");
    assert_eq!(
        store
            .job_claim(&claim_params(10))
            .await
            .expect("claim")
            .len(),
        1
    );
    assert_ne!(db.query_text(counter).await, before);
}

both!(handing_back_unstarted_attempts_is_fenced_and_uncounted);
async fn handing_back_unstarted_attempts_is_fenced_and_uncounted(db: TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(store.job_insert(&job()).await.expect("insert").job.id);
    }
    let claimed = store.job_claim(&claim_params(4)).await.expect("claim");
    assert_eq!(claimed.len(), 4);
    let by_id = |id: i64| claimed.iter().find(|j| j.id == id).expect("claimed");
    // ids[1]: an operator asks to cancel it while it is held.
    store
        .job_cancel(ids[1], &oncely_testkit::tester())
        .await
        .expect("cancel request");
    // ids[2]: its lease was lost meanwhile (a later attempt holds it): a
    // stale fence hands nothing back.
    let stale = Fence::of(by_id(ids[2]));
    store
        .job_release(stale, "test: lease handed back")
        .await
        .expect("release");
    let again = store.job_claim(&claim_params(1)).await.expect("claim");
    assert_eq!(again[0].id, ids[2]);
    let fences: Vec<Fence> = ids[..3].iter().map(|&id| Fence::of(by_id(id))).collect();
    let mut handed = store.job_unclaim_many(&fences).await.expect("unclaim");
    handed.sort();
    assert_eq!(
        handed,
        vec![ids[0], ids[1]],
        "the stale fence took no effect"
    );
    let row = store.job_get(ids[0]).await.expect("get").expect("row");
    assert_eq!((row.state, row.attempt), (JobState::Available, 0));
    assert!(row.lease_expires_at.is_none());
    assert!(row.errors.is_empty(), "nothing happened: nothing recorded");
    let cancelled = store.job_get(ids[1]).await.expect("get").expect("row");
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(cancelled.finalized_at.is_some());
    let held = store.job_get(ids[2]).await.expect("get").expect("row");
    assert_eq!(
        (held.state, held.fence),
        (JobState::Running, again[0].fence)
    );
    // Handed back twice: no effect the second time.
    assert!(store
        .job_unclaim_many(&fences[..1])
        .await
        .expect("unclaim")
        .is_empty());
    // The job handed back is claimed again as attempt 1, with a new token.
    let next = store.job_claim(&claim_params(5)).await.expect("claim");
    let first = next.iter().find(|j| j.id == ids[0]).expect("claimed again");
    assert_eq!(first.attempt, 1);
    assert!(first.fence > fences[0].fence);
}

both!(a_reconciliation_handed_back_is_in_doubt_again);
async fn a_reconciliation_handed_back_is_in_doubt_again(db: TestDb) {
    let store = db.store().await;
    let job = insert_and_claim(&store).await;
    store
        .job_doubt(Fence::of(&job), "unknown", Duration::ZERO)
        .await
        .expect("doubt");
    let rec = store
        .job_claim_in_doubt(&claim_params(1), &super::support::reconcile(&["k"]))
        .await
        .expect("claim")
        .remove(0);
    assert!(rec.reconciling);
    let handed = store
        .job_unclaim_many(&[Fence::of(&rec)])
        .await
        .expect("unclaim");
    assert_eq!(handed, vec![job.id]);
    let row = store.job_get(job.id).await.expect("get").expect("row");
    assert_eq!((row.state, row.attempt), (JobState::InDoubt, 1));
    assert!(!row.reconciling);
}
