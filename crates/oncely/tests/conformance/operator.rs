//! Operator verbs: cancel, retry now, list, counts; corrupt rows.

use oncely::store::JobFilter;
use oncely::{Error, JobState};
use oncely_testkit::{Backend, TestDb};

use super::support::{insert_and_claim, job};

both!(cancel_and_retry_now_follow_the_state_machine);
async fn cancel_and_retry_now_follow_the_state_machine(db: TestDb) {
    let store = db.store().await;
    let j = store.job_insert(&job()).await.expect("insert").job;
    assert_eq!(
        store
            .job_cancel(j.id, &oncely_testkit::tester())
            .await
            .expect("cancel")
            .state,
        JobState::Cancelled
    );
    assert!(matches!(
        store.job_cancel(j.id, &oncely_testkit::tester()).await,
        Err(Error::InvalidTransition {
            state: JobState::Cancelled,
            ..
        })
    ));
    let again = store
        .job_retry_now(j.id, &oncely_testkit::tester())
        .await
        .expect("retry");
    assert_eq!(again.state, JobState::Available);
    assert!(again.finalized_at.is_none());
    let running = store
        .job_claim(&super::support::claim_params(1))
        .await
        .expect("claim");
    assert_eq!(running.len(), 1);
    assert!(matches!(
        store
            .job_retry_now(running[0].id, &oncely_testkit::tester())
            .await,
        Err(Error::InvalidTransition {
            state: JobState::Running,
            ..
        })
    ));
    assert!(matches!(
        store.job_cancel(424_242, &oncely_testkit::tester()).await,
        Err(Error::NotFound(424_242))
    ));
    assert!(matches!(
        store
            .job_retry_now(424_242, &oncely_testkit::tester())
            .await,
        Err(Error::NotFound(424_242))
    ));
}

both!(retry_now_gives_an_exhausted_job_one_more_attempt);
async fn retry_now_gives_an_exhausted_job_one_more_attempt(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().with_max_attempts(1))
        .await
        .expect("insert");
    let j = store
        .job_claim(&super::support::claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    store
        .job_discard(oncely::Fence::of(&j), "gave up")
        .await
        .expect("discard");
    let again = store
        .job_retry_now(j.id, &oncely_testkit::tester())
        .await
        .expect("retry");
    assert_eq!((again.state, again.max_attempts), (JobState::Available, 2));
}

both!(list_and_counts_filter_by_state_and_queue);
async fn list_and_counts_filter_by_state_and_queue(db: TestDb) {
    let store = db.store().await;
    let mut other = job();
    other.queue = "other".into();
    store.job_insert(&other).await.expect("insert");
    let running = insert_and_claim(&store).await;
    let listed = store
        .job_list(&JobFilter {
            state: Some(JobState::Running),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![running.id]
    );
    let in_other = store
        .job_list(&JobFilter {
            queue: Some("other".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(in_other.len(), 1);
    let counts = store.queue_counts().await.expect("counts");
    let find = |q: &str, s: JobState| {
        counts
            .iter()
            .find(|c| c.queue == q && c.state == s)
            .map(|c| c.count)
    };
    assert_eq!(find("q", JobState::Running), Some(1));
    assert_eq!(find("other", JobState::Available), Some(1));
}

both!(corrupt_row_is_an_error_not_a_panic);
async fn corrupt_row_is_an_error_not_a_panic(db: TestDb) {
    let store = db.store().await;
    let j = store.job_insert(&job()).await.expect("insert").job;
    db.exec(&format!(
        "UPDATE oncely_jobs SET errors = '{{\"not\": \"a list\"}}' WHERE id = {}",
        j.id
    ))
    .await;
    match store.job_get(j.id).await {
        Err(Error::CorruptRow { id, .. }) => assert_eq!(id, Some(j.id)),
        other => panic!("expected CorruptRow, got {other:?}"),
    }
}

both!(a_corrupt_row_is_quarantined_at_claim_and_strands_nothing);
/// One corrupt row among claimed ones: the others are handed out, the corrupt
/// one is discarded with the reason (its unreadable value kept), never
/// claimed again.
async fn a_corrupt_row_is_quarantined_at_claim_and_strands_nothing(db: TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(store.job_insert(&job()).await.expect("insert").job.id);
    }
    db.exec(&format!(
        "UPDATE oncely_jobs SET errors = '{{\"not\": \"a list\"}}' WHERE id = {}",
        ids[1]
    ))
    .await;
    let claimed = store
        .job_claim(&super::support::claim_params(10))
        .await
        .expect("the claim succeeds");
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    let bad = store
        .job_get(ids[1])
        .await
        .expect("readable now")
        .expect("row");
    assert_eq!(bad.state, JobState::Discarded);
    assert!(
        bad.errors[0].error.contains("corrupt row"),
        "{:?}",
        bad.errors
    );
    let raw = db
        .query_text(&format!(
            "SELECT CAST(errors AS {}) FROM oncely_jobs WHERE id = {}",
            match db.backend {
                Backend::MariaDb => "CHAR",
                Backend::Postgres | Backend::Sqlite => "TEXT",
            },
            ids[1]
        ))
        .await;
    assert!(
        raw.contains("a list"),
        "the unreadable value is kept: {raw}"
    );
    assert!(store
        .job_claim(&super::support::claim_params(10))
        .await
        .expect("claim")
        .is_empty());
}
