//! Paused queues: nothing is claimed from them (work or reconciliation), on
//! any handle, until resumed; the pause is stored, kept on repeat, recorded.

use oncely::store::{ActionFilter, Decision};
use oncely::{Error, JobState, NewJob, ValidationError};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::{claim_params, job, reconcile};

fn ops(actor: &str, reason: &str) -> Decision {
    Decision::new(actor, reason).expect("decision")
}

both!(a_paused_queue_gives_no_claims_until_resumed);
async fn a_paused_queue_gives_no_claims_until_resumed(db: TestDb) {
    let store = db.store().await;
    let waiting = store.job_insert(&job()).await.expect("insert").job;
    store
        .job_insert(&NewJob::new("other", "k", json!({})))
        .await
        .expect("insert");
    let paused = store
        .queue_pause("q", &ops("alice", "provider outage"))
        .await
        .expect("pause");
    assert!(paused.paused());
    assert_eq!(paused.paused_by.as_deref(), Some("alice"));
    assert!(store
        .job_claim(&claim_params(10))
        .await
        .expect("claim")
        .is_empty());
    // Another handle (another server) sees the same pause.
    let other = db.store().await;
    assert!(other
        .job_claim(&claim_params(10))
        .await
        .expect("claim")
        .is_empty());
    // Other queues run.
    let mut elsewhere = claim_params(10);
    elsewhere.queue = "other".into();
    assert_eq!(store.job_claim(&elsewhere).await.expect("claim").len(), 1);
    // Pausing again keeps the first pause.
    let again = store
        .queue_pause("q", &ops("bob", "me too"))
        .await
        .expect("pause");
    assert_eq!(again.paused_by.as_deref(), Some("alice"));
    assert_eq!(again.paused_at, paused.paused_at);
    let resumed = store
        .queue_resume("q", &ops("alice", "provider back"))
        .await
        .expect("resume");
    assert!(!resumed.paused());
    let claimed = store.job_claim(&claim_params(10)).await.expect("claim");
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![waiting.id]
    );
    let states = store.queue_states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert!(!states[0].paused());
    let log = store
        .operator_actions(&ActionFilter {
            queue: Some("q".into()),
            ..ActionFilter::default()
        })
        .await
        .expect("log");
    let seen: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.outcome.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("resume", "alice", "running"),
            ("pause", "bob", "paused"),
            ("pause", "alice", "paused"),
        ]
    );
    assert_eq!(log[2].reason, "provider outage");
}

both!(a_paused_queue_is_not_reconciled_either);
async fn a_paused_queue_is_not_reconciled_either(db: TestDb) {
    let store = db.store().await;
    store
        .job_insert(&job().at_most_once())
        .await
        .expect("insert");
    store.job_claim(&claim_params(1)).await.expect("claim");
    db.expire_leases().await;
    assert_eq!(
        store.job_rescue_expired(10).await.expect("rescue").in_doubt,
        1
    );
    store
        .queue_pause("q", &ops("ops", "hold"))
        .await
        .expect("pause");
    assert!(store
        .job_claim_in_doubt(&claim_params(5), &reconcile(&["k"]))
        .await
        .expect("claim")
        .is_empty());
    store
        .queue_resume("q", &ops("ops", "go"))
        .await
        .expect("resume");
    assert_eq!(
        store
            .job_claim_in_doubt(&claim_params(5), &reconcile(&["k"]))
            .await
            .expect("claim")
            .len(),
        1
    );
}

both!(pause_refuses_bad_names_and_empty_decisions);
async fn pause_refuses_bad_names_and_empty_decisions(db: TestDb) {
    let store = db.store().await;
    assert!(matches!(
        store.queue_pause("no spaces", &ops("ops", "x")).await,
        Err(Error::Invalid(ValidationError::QueueName(_)))
    ));
    assert!(matches!(
        Decision::new("ops", "   "),
        Err(ValidationError::Decision { what: "reason", .. })
    ));
    assert!(matches!(
        Decision::new("", "why"),
        Err(ValidationError::Decision { what: "actor", .. })
    ));
    assert!(matches!(
        Decision::new("ops", "a\0b"),
        Err(ValidationError::NulCharacter("reason"))
    ));
    assert!(store.queue_states().await.expect("states").is_empty());
    assert!(store
        .operator_actions(&ActionFilter::default())
        .await
        .expect("log")
        .is_empty());
}

both!(operator_actions_are_recorded_with_who_why_and_outcome);
async fn operator_actions_are_recorded_with_who_why_and_outcome(db: TestDb) {
    let store = db.store().await;
    let a = store.job_insert(&job()).await.expect("insert").job;
    store
        .job_cancel(a.id, &ops("carol", "duplicate order"))
        .await
        .expect("cancel");
    store
        .job_retry_now(a.id, &ops("dave", "not a duplicate"))
        .await
        .expect("retry");
    // A refused action records nothing.
    assert!(store
        .job_resolve(
            a.id,
            oncely::store::Resolution::Completed,
            &ops("erin", "x")
        )
        .await
        .is_err());
    assert!(store.job_cancel(999_999, &ops("erin", "x")).await.is_err());
    let log = store
        .operator_actions(&ActionFilter {
            job_id: Some(a.id),
            ..ActionFilter::default()
        })
        .await
        .expect("log");
    let seen: Vec<(&str, &str, &str, &str)> = log
        .iter()
        .map(|x| {
            (
                x.action.as_str(),
                x.actor.as_str(),
                x.reason.as_str(),
                x.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("retry", "dave", "not a duplicate", "available"),
            ("cancel", "carol", "duplicate order", "cancelled"),
        ]
    );
    assert!(log.iter().all(|x| x.queue.as_deref() == Some("q")));
    assert!(log[0].at >= log[1].at && log[0].id > log[1].id);
    // A running job's cancel is a request: the job stays running.
    let running = store.job_claim(&claim_params(1)).await.expect("claim");
    assert_eq!(running[0].id, a.id);
    let asked = store
        .job_cancel(a.id, &ops("carol", "really"))
        .await
        .expect("cancel");
    assert_eq!(asked.state, JobState::Running);
    let newest = store
        .operator_actions(&ActionFilter {
            limit: Some(1),
            ..ActionFilter::default()
        })
        .await
        .expect("log");
    assert_eq!(newest.len(), 1);
    assert_eq!(
        (newest[0].action.as_str(), newest[0].outcome.as_str()),
        ("cancel", "running")
    );
}
