//! Fencing: a stale attempt can change nothing, and says why.

use std::time::Duration;

use oncely::store::{Fence, RetryParams};
use oncely::{Error, JobState};
use oncely_testkit::TestDb;

use super::support::{claim_params, insert_and_claim};

both!(stale_attempt_cannot_write);
async fn stale_attempt_cannot_write(db: TestDb) {
    let store = db.store().await;
    let stale = insert_and_claim(&store).await;
    db.expire_leases().await;
    let rescued = store.job_rescue_expired(100).await.expect("rescue");
    assert_eq!(rescued.retried, 1);
    let fresh = store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .remove(0);
    let old = Fence::of(&stale);
    let expect_lost = |result: Result<(), Error>, what: &str| match result {
        Err(Error::LeaseLost(lost)) => {
            assert_eq!(lost.current_fence, Some(fresh.fence), "{what}");
            assert_eq!(lost.current_state, Some(JobState::Running), "{what}");
        }
        other => panic!("{what}: expected LeaseLost, got {other:?}"),
    };
    expect_lost(store.job_complete(old).await, "complete");
    expect_lost(
        store
            .job_heartbeat(old, Duration::from_secs(30))
            .await
            .map(|_| ()),
        "heartbeat",
    );
    expect_lost(
        store
            .job_retry(&RetryParams {
                fence: old,
                error: "x".into(),
                delay: Duration::ZERO,
                rerun: false,
            })
            .await
            .map(|_| ()),
        "retry",
    );
    expect_lost(store.job_discard(old, "x").await, "discard");
    expect_lost(
        store.job_snooze(old, Duration::from_secs(1)).await,
        "snooze",
    );
    expect_lost(store.job_cancel_running(old, "x").await, "cancel");
    expect_lost(store.job_release(old, "x").await.map(|_| ()), "release");
    // The fresh holder is untouched and can complete.
    let now = store.job_get(fresh.id).await.expect("get").expect("row");
    assert_eq!(now.state, JobState::Running);
    assert_eq!(now.fence, fresh.fence);
    assert_eq!(now.lease_expires_at, fresh.lease_expires_at);
    store
        .job_complete(Fence::of(&fresh))
        .await
        .expect("complete");
    // Completing twice with the same token is a no-op success; the stale one still fails.
    store
        .job_complete(Fence::of(&fresh))
        .await
        .expect("complete again");
    assert!(store.job_complete(old).await.unwrap_err().is_lease_lost());
}

both!(write_after_final_state_is_lease_lost);
async fn write_after_final_state_is_lease_lost(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    store
        .job_discard(Fence::of(&j), "bad")
        .await
        .expect("discard");
    match store.job_complete(Fence::of(&j)).await {
        Err(Error::LeaseLost(lost)) => {
            assert_eq!(lost.current_state, Some(JobState::Discarded));
            assert!(lost.to_string().contains("no longer running"), "{lost}");
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    let missing = Fence {
        job_id: 987_654,
        fence: 1,
    };
    match store.job_complete(missing).await {
        Err(Error::LeaseLost(lost)) => assert_eq!(lost.current_state, None),
        other => panic!("expected LeaseLost, got {other:?}"),
    }
}

both!(cancelling_a_running_job_waits_for_its_attempt);
async fn cancelling_a_running_job_waits_for_its_attempt(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    let asked = store
        .job_cancel(j.id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    // Only a request: the attempt may still act, so the job stays running.
    assert_eq!(asked.state, JobState::Running);
    assert!(asked.cancel_requested_at.is_some());
    assert!(asked.lease_expires_at.is_some(), "the lease is kept");
    // Nothing can start a second attempt meanwhile.
    match store.job_retry_now(j.id, &oncely_testkit::tester()).await {
        Err(Error::InvalidTransition { state, .. }) => assert_eq!(state, JobState::Running),
        other => panic!("retry of a cancelling job: {other:?}"),
    }
    assert!(store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .is_empty());
    // Asking again changes nothing.
    let again = store
        .job_cancel(j.id, &oncely_testkit::tester())
        .await
        .expect("cancel again");
    assert_eq!(again.cancel_requested_at, asked.cancel_requested_at);
    assert_eq!(again.errors.len(), asked.errors.len());
    // The attempt learns it at its heartbeat, stops, and records the cancel.
    let beat = store
        .job_heartbeat(Fence::of(&j), Duration::from_secs(30))
        .await
        .expect("heartbeat");
    assert!(beat.cancel_requested);
    store
        .job_cancel_running(Fence::of(&j), "stopped")
        .await
        .expect("cancelled by its worker");
    let done = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!(done.state, JobState::Cancelled);
    // Its worker's later writes are refused; an operator may now retry it.
    match store
        .job_heartbeat(Fence::of(&j), Duration::from_secs(30))
        .await
    {
        Err(Error::LeaseLost(lost)) => {
            assert_eq!(lost.current_state, Some(JobState::Cancelled));
            assert!(lost.to_string().contains("cancelled"));
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    let retried = store
        .job_retry_now(j.id, &oncely_testkit::tester())
        .await
        .expect("retry");
    assert_eq!(retried.state, JobState::Available);
    assert_eq!(retried.cancel_requested_at, None);
}

both!(a_cancel_request_wins_over_every_outcome_but_completion);
async fn a_cancel_request_wins_over_every_outcome_but_completion(db: TestDb) {
    let store = db.store().await;
    // Retry, snooze, release, doubt: each ends cancelled when a cancel was asked.
    for outcome in ["retry", "snooze", "release", "doubt"] {
        let j = insert_and_claim(&store).await;
        store
            .job_cancel(j.id, &oncely_testkit::tester())
            .await
            .expect("cancel");
        let f = Fence::of(&j);
        match outcome {
            "retry" => store
                .job_retry(&RetryParams {
                    fence: f,
                    error: "x".into(),
                    delay: Duration::ZERO,
                    rerun: false,
                })
                .await
                .map(|_| ()),
            "snooze" => store.job_snooze(f, Duration::ZERO).await,
            "release" => store.job_release(f, "shutdown").await.map(|_| ()),
            _ => store.job_doubt(f, "unknown", Duration::ZERO).await,
        }
        .expect(outcome);
        let row = store.job_get(j.id).await.expect("get").expect("row");
        assert_eq!(row.state, JobState::Cancelled, "{outcome}");
        assert!(row.finalized_at.is_some(), "{outcome}");
    }
    // A completion that wins the race stands: the work was done.
    let j = insert_and_claim(&store).await;
    store
        .job_cancel(j.id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    store.job_complete(Fence::of(&j)).await.expect("complete");
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::Completed);
    // A worker that vanished: once its lease has ended the rescuer cancels it.
    let j = insert_and_claim(&store).await;
    store
        .job_cancel(j.id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    db.expire_leases().await;
    let report = store.job_rescue_expired(100).await.expect("rescue");
    assert_eq!(report.total(), 1);
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::Cancelled);
    assert!(store
        .job_claim(&claim_params(1))
        .await
        .expect("claim")
        .is_empty());
}

both!(raising_the_policy_is_fenced_and_never_lowers);
async fn raising_the_policy_is_fenced_and_never_lowers(db: TestDb) {
    let store = db.store().await;
    let j = insert_and_claim(&store).await;
    assert!(!j.at_most_once && !j.reconcilable);
    store
        .job_raise_policy(Fence::of(&j), false, true)
        .await
        .expect("raise");
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert!(
        row.at_most_once && row.reconcilable,
        "reconcilable implies at-most-once"
    );
    // Asking for less changes nothing.
    store
        .job_raise_policy(Fence::of(&j), false, false)
        .await
        .expect("no-op");
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert!(row.at_most_once && row.reconcilable);
    // A superseded attempt cannot write it.
    let stale = Fence {
        fence: j.fence - 1,
        ..Fence::of(&j)
    };
    match store.job_raise_policy(stale, true, false).await {
        Err(Error::LeaseLost(_)) => {}
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    // The rescuer obeys the raised flags: in doubt, not retried.
    db.expire_leases().await;
    store.job_rescue_expired(100).await.expect("rescue");
    let row = store.job_get(j.id).await.expect("get").expect("row");
    assert_eq!(row.state, JobState::InDoubt);
}

both!(batched_completions_are_fenced_per_job);
async fn batched_completions_are_fenced_per_job(db: TestDb) {
    let store = db.store().await;
    for _ in 0..3 {
        store
            .job_insert(&super::support::job())
            .await
            .expect("insert");
    }
    let claimed = store.job_claim(&claim_params(3)).await.expect("claim");
    assert_eq!(claimed.len(), 3);
    let fences: Vec<Fence> = claimed.iter().map(Fence::of).collect();
    // The third attempt is stale: a newer claim owns its job.
    let stale = Fence {
        fence: fences[2].fence - 1_000_000,
        ..fences[2]
    };
    let gone = Fence {
        job_id: 999_999,
        fence: 1,
    };
    let outcomes = store
        .job_complete_many(&[fences[0], fences[1], stale, gone])
        .await
        .expect("complete many");
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
    match &outcomes[2] {
        Err(Error::LeaseLost(lost)) => {
            assert_eq!(lost.current_fence, Some(fences[2].fence));
            assert_eq!(lost.current_state, Some(JobState::Running));
        }
        other => panic!("the stale attempt: {other:?}"),
    }
    match &outcomes[3] {
        Err(Error::LeaseLost(lost)) => assert_eq!(lost.current_state, None),
        other => panic!("a missing job: {other:?}"),
    }
    for (fence, state) in [
        (fences[0], JobState::Completed),
        (fences[1], JobState::Completed),
        (fences[2], JobState::Running),
    ] {
        let j = store
            .job_get(fence.job_id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(j.state, state);
    }
    // Repeating it for the same attempt is a success that changes nothing.
    let again = store
        .job_complete_many(&[fences[0], fences[1]])
        .await
        .expect("again");
    assert!(again.iter().all(Result::is_ok), "{again:?}");
    assert!(store
        .job_complete_many(&[])
        .await
        .expect("empty")
        .is_empty());
}
