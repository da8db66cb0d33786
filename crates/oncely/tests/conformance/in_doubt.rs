//! In-doubt jobs: doubting, claiming for reconciliation, operator resolution.

use std::time::Duration;

use oncely::store::{Fence, Resolution, RetryParams};
use oncely::{Error, JobState};
use oncely_testkit::TestDb;

use super::support::{claim_params, job, reconcile};

both!(doubt_reconcile_claim_and_resolve);
async fn doubt_reconcile_claim_and_resolve(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().at_most_once())
        .await
        .expect("insert");
    let first = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    assert!(!first.reconciling);
    store
        .job_doubt(Fence::of(&first), "timeout after charging", Duration::ZERO)
        .await
        .expect("doubt");
    let row = store.job_get(first.id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::InDoubt);
    assert_eq!(
        row.errors.last().map(|e| e.error.as_str()),
        Some("timeout after charging")
    );
    // Never claimed for work; claimed for reconciliation with a new token, same attempt.
    assert!(store
        .job_claim(&claim_params(5))
        .await
        .expect("claim")
        .is_empty());
    let rec = store
        .job_claim_in_doubt(&claim_params(5), &reconcile(&["k"]))
        .await
        .expect("claim")
        .remove(0);
    assert!(rec.reconciling);
    assert!(rec.fence > first.fence);
    assert_eq!((rec.state, rec.attempt), (JobState::Running, 1));
    // The old attempt is fenced out.
    assert!(store
        .job_complete(Fence::of(&first))
        .await
        .unwrap_err()
        .is_lease_lost());
    // Reconcile cannot tell: back in doubt, later.
    store
        .job_doubt(
            Fence::of(&rec),
            "provider unreachable",
            Duration::from_secs(3600),
        )
        .await
        .expect("doubt");
    assert!(
        store
            .job_claim_in_doubt(&claim_params(5), &reconcile(&["k"]))
            .await
            .expect("claim")
            .is_empty(),
        "backoff respected"
    );
    // A person decides.
    let note = "resolved as retry by ops@example: provider has no charge";
    let by =
        oncely::store::Decision::new("ops@example", "provider has no charge").expect("decision");
    let resolved = store
        .job_resolve(first.id, Resolution::Retry, &by)
        .await
        .expect("resolve");
    assert_eq!(resolved.state, JobState::Available);
    assert!(resolved.max_attempts > resolved.attempt);
    assert_eq!(resolved.errors.last().map(|e| e.error.as_str()), Some(note));
    assert!(matches!(
        store
            .job_resolve(
                first.id,
                Resolution::Completed,
                &oncely::store::Decision::new("ops", "again").expect("decision")
            )
            .await,
        Err(Error::InvalidTransition {
            state: JobState::Available,
            ..
        })
    ));
    assert!(matches!(
        store
            .job_resolve(
                999_999,
                Resolution::Completed,
                &oncely::store::Decision::new("ops", "x").expect("decision")
            )
            .await,
        Err(Error::NotFound(_))
    ));
}

both!(only_reconcilable_jobs_are_claimed_to_reconcile);
/// A job inserted reconcilable is claimed to reconcile by any worker of its
/// kind; a merely at-most-once job only by workers whose kind policy
/// reconciles every job.
async fn only_reconcilable_jobs_are_claimed_to_reconcile(db: TestDb) {
    let store = db.store().await;
    let plain = store
        .job_insert(&job().at_most_once())
        .await
        .expect("insert")
        .job;
    let flagged = store
        .job_insert(&job().reconcilable())
        .await
        .expect("insert")
        .job;
    assert!(flagged.reconcilable && flagged.at_most_once, "{flagged:?}");
    assert!(!plain.reconcilable && plain.at_most_once, "{plain:?}");
    // Both claimed, their workers vanish: both in doubt.
    assert_eq!(
        store
            .job_claim(&claim_params(5))
            .await
            .expect("claim")
            .len(),
        2
    );
    db.expire_leases().await;
    assert_eq!(
        store.job_rescue_expired(10).await.expect("rescue").in_doubt,
        2
    );
    let taken = store
        .job_claim_in_doubt(&claim_params(5), &reconcile(&[]))
        .await
        .expect("claim");
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![flagged.id],
        "only the reconcilable job"
    );
    // Not before it has been due for the settle time.
    let settling = oncely::store::ReconcileClaim {
        settle: Duration::from_secs(3600),
        ..reconcile(&["k"])
    };
    assert!(store
        .job_claim_in_doubt(&claim_params(5), &settling)
        .await
        .expect("claim")
        .is_empty());
    let taken = store
        .job_claim_in_doubt(&claim_params(5), &reconcile(&["k"]))
        .await
        .expect("claim");
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![plain.id],
        "a kind that reconciles every job takes the other one too"
    );
}

both!(resolving_completed_or_discarded_is_final);
async fn resolving_completed_or_discarded_is_final(db: TestDb) {
    let store = db.store().await;
    for (resolution, state) in [
        (Resolution::Completed, JobState::Completed),
        (Resolution::Discarded, JobState::Discarded),
    ] {
        store
            .job_insert(&job().at_most_once())
            .await
            .expect("insert");
        let j = store
            .job_claim(&claim_params(1))
            .await
            .expect("claim")
            .remove(0);
        db.expire_leases().await;
        assert_eq!(
            store.job_rescue_expired(10).await.expect("rescue").in_doubt,
            1
        );
        let done = store
            .job_resolve(
                j.id,
                resolution,
                &oncely::store::Decision::new("ops", "decided").expect("decision"),
            )
            .await
            .expect("resolve");
        assert_eq!(done.state, state);
        assert!(done.finalized_at.is_some());
    }
}

both!(recovery_points_are_fenced_and_kept);
async fn recovery_points_are_fenced_and_kept(db: TestDb) {
    let store = db.store().await;
    store.job_insert(&job()).await.expect("insert");
    let first = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    let charge = serde_json::json!({"charge": "ch_1"});
    store
        .step_put(Fence::of(&first), "charge", &charge)
        .await
        .expect("put");
    assert_eq!(
        store.step_get(first.id, "charge").await.expect("get"),
        Some(charge.clone())
    );
    assert_eq!(store.step_get(first.id, "email").await.expect("get"), None);
    // The attempt loses its lease: its writes of recovery points are refused.
    db.expire_leases().await;
    store.job_rescue_expired(10).await.expect("rescue");
    let second = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    let stale = store
        .step_put(Fence::of(&first), "email", &serde_json::json!(1))
        .await;
    assert!(matches!(stale, Err(Error::LeaseLost(_))), "{stale:?}");
    // The first stored result wins.
    store
        .step_put(
            Fence::of(&second),
            "charge",
            &serde_json::json!({"charge": "ch_2"}),
        )
        .await
        .expect("put");
    assert_eq!(
        store.step_get(first.id, "charge").await.expect("get"),
        Some(charge)
    );
}

both!(not_done_runs_again_on_the_last_attempt_a_bounded_number_of_times);
async fn not_done_runs_again_on_the_last_attempt_a_bounded_number_of_times(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().reconcilable().with_max_attempts(2))
        .await
        .expect("insert");
    let not_done = |fence| RetryParams {
        fence,
        error: "reconciled: not done".into(),
        delay: Duration::ZERO,
        rerun: true,
    };
    // Each round: an attempt (the last one allowed, from round 2 on) goes in
    // doubt, its reconcile step finds the effect did not happen.
    let mut states = Vec::new();
    for _round in 0..4 {
        let Some(work) = store
            .job_claim(&claim_params(1))
            .await
            .expect("claim")
            .into_iter()
            .next()
        else {
            break;
        };
        store
            .job_doubt(Fence::of(&work), "dropped answer", Duration::ZERO)
            .await
            .expect("doubt");
        let rec = store
            .job_claim_in_doubt(&claim_params(1), &reconcile(&[]))
            .await
            .expect("claim")
            .remove(0);
        let state = store
            .job_retry(&not_done(Fence::of(&rec)))
            .await
            .expect("retry");
        let row = store.job_get(rec.id).await.expect("get").expect("row");
        states.push((state, row.attempt, row.reruns));
    }
    // Not done on its last attempt: one more is granted, at most as many
    // times as the job had attempts (2); then it ends like any other.
    assert_eq!(
        states,
        vec![
            (JobState::Retryable, 1, 0),
            (JobState::Retryable, 2, 1),
            (JobState::Retryable, 3, 2),
            (JobState::Discarded, 4, 2),
        ]
    );
    let row = store
        .job_list(&Default::default())
        .await
        .expect("list")
        .remove(0);
    assert!(row.errors.iter().any(|e| e
        .error
        .contains("that was its last attempt: one more granted, 1 so far")));
}
