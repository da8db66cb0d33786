//! What each outcome of an attempt writes.

use std::time::Duration;

use oncely::store::{Fence, RetryParams};
use oncely::JobState;
use oncely_testkit::TestDb;

use super::support::{claim_params, insert_and_claim, job};

both!(retry_backs_off_then_discards_when_out_of_attempts);
async fn retry_backs_off_then_discards_when_out_of_attempts(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().with_max_attempts(2))
        .await
        .expect("insert");
    let first = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    let state = store
        .job_retry(&RetryParams {
            fence: Fence::of(&first),
            error: "boom 1".into(),
            delay: Duration::from_secs(3600),
            rerun: false,
        })
        .await
        .expect("retry");
    assert_eq!(state, JobState::Retryable);
    let row = store.job_get(first.id).await.expect("get").expect("row");
    let wait = row.run_at - store.db_now().await.expect("now");
    assert!(
        wait > chrono::Duration::seconds(3500),
        "backoff applied: {wait:?}"
    );
    assert!(store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .is_empty());
    db.make_due().await;
    let second = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(second.attempt, 2);
    let state = store
        .job_retry(&RetryParams {
            fence: Fence::of(&second),
            error: "boom 2".into(),
            delay: Duration::ZERO,
            rerun: false,
        })
        .await
        .expect("retry");
    assert_eq!(state, JobState::Discarded);
    let row = store.job_get(first.id).await.expect("get").expect("row");
    assert!(row.finalized_at.is_some());
    let errors: Vec<_> = row
        .errors
        .iter()
        .map(|e| (e.attempt, e.error.as_str()))
        .collect();
    assert_eq!(errors, vec![(1, "boom 1"), (2, "boom 2")]);
}

both!(snooze_does_not_use_an_attempt);
async fn snooze_does_not_use_an_attempt(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    store
        .job_snooze(Fence::of(&j), Duration::from_secs(60))
        .await
        .expect("snooze");
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!((row.state, row.attempt), (JobState::Scheduled, 0));
    assert!(row.lease_expires_at.is_none());
}

both!(release_hands_the_job_back_at_once);
async fn release_hands_the_job_back_at_once(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    let state = store
        .job_release(Fence::of(&j), "shutdown")
        .await
        .expect("release");
    assert_eq!(state, JobState::Available);
    let again = store.job_claim(&claim_params(1)).await.expect("claim");
    assert_eq!(again.len(), 1, "claimable at once");
    assert_eq!(again[0].attempt, 1, "the released attempt was not counted");
}

both!(at_most_once_jobs_go_in_doubt_not_back_to_work);
async fn at_most_once_jobs_go_in_doubt_not_back_to_work(db: TestDb) {
    let store = db.store().await;
    // Released at shutdown: in doubt.
    store
        .job_insert(&job().at_most_once())
        .await
        .expect("insert");
    let a = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(
        store
            .job_release(Fence::of(&a), "shutdown")
            .await
            .expect("release"),
        JobState::InDoubt
    );
    // Lease expired: rescued to in doubt.
    store
        .job_insert(&job().at_most_once())
        .await
        .expect("insert");
    let b = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    db.expire_leases().await;
    let report = store.job_rescue_expired(100).await.expect("rescue");
    assert_eq!(
        (report.in_doubt, report.retried, report.discarded),
        (1, 0, 0)
    );
    assert_eq!(
        store.job_get(b.id).await.expect("get").expect("row").state,
        JobState::InDoubt
    );
    // Neither is claimed again on its own.
    db.make_due().await;
    assert!(store
        .job_claim(&claim_params(10))
        .await
        .expect("claim")
        .is_empty());
}

both!(rescue_discards_when_no_attempt_is_left);
async fn rescue_discards_when_no_attempt_is_left(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().with_max_attempts(1))
        .await
        .expect("insert");
    let j = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(
        store.job_rescue_expired(100).await.expect("rescue").total(),
        0,
        "lease not expired yet"
    );
    db.expire_leases().await;
    let report = store.job_rescue_expired(100).await.expect("rescue");
    assert_eq!(report.discarded, 1);
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::Discarded);
    assert!(
        row.errors[0].error.contains("lease expired"),
        "{:?}",
        row.errors
    );
}
