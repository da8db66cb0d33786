//! Effect policies end to end: in-doubt jobs and their reconcile step.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use oncely::worker::{EffectPolicy, Reconciliation};
use oncely::{Client, JobContext, JobError, JobState, NewJob, Worker};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::{eventually, fast_config, state_of};

/// A kind whose first attempt times out after "charging"; its reconcile
/// step answers as the args say.
struct Charger {
    policy: EffectPolicy,
    reconciles: Arc<AtomicU32>,
}

#[async_trait]
impl Worker for Charger {
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        if ctx.attempt() == 1 {
            return Err(JobError::InDoubt(
                "timed out after sending the charge".into(),
            ));
        }
        Ok(())
    }

    fn policy(&self) -> EffectPolicy {
        self.policy
    }

    async fn reconcile(&self, ctx: JobContext) -> Reconciliation {
        let n = self.reconciles.fetch_add(1, Ordering::SeqCst);
        match ctx.job().args["provider_says"].as_str() {
            Some("charged") => Reconciliation::Done,
            Some("not_charged") => Reconciliation::NotDone,
            Some("unknown_then_charged") if n > 0 => Reconciliation::Done,
            _ => Reconciliation::Unknown("provider unreachable".into()),
        }
    }
}

fn client(store: oncely::Store, policy: EffectPolicy, reconciles: Arc<AtomicU32>) -> Client {
    Client::builder(store)
        .queue("q", 2)
        .config(fast_config())
        .register("charge", Charger { policy, reconciles })
        .build()
        .expect("client")
}

async fn settle(
    db: &TestDb,
    policy: EffectPolicy,
    says: &str,
    expect: JobState,
) -> (oncely::Job, u32) {
    let store = db.store().await;
    let reconciles = Arc::new(AtomicU32::new(0));
    let c = client(store.clone(), policy, reconciles.clone());
    let id = c
        .insert(&NewJob::new(
            "q",
            "charge",
            json!({ "provider_says": says }),
        ))
        .await
        .expect("insert")
        .job
        .id;
    let running = c.start();
    eventually(&format!("{says} reaches {expect}"), || async {
        state_of(&store, id).await == expect
    })
    .await;
    running.shutdown().await;
    (
        store.job_get(id).await.expect("get").expect("row"),
        reconciles.load(Ordering::SeqCst),
    )
}

both!(reconcilable_jobs_settle_by_asking);
async fn reconcilable_jobs_settle_by_asking(db: TestDb) {
    // Charged: completed by reconciliation, never run a second time.
    let (j, n) = settle(
        &db,
        EffectPolicy::Reconcilable,
        "charged",
        JobState::Completed,
    )
    .await;
    assert!(j.at_most_once, "the client marked the job at-most-once");
    assert_eq!((j.attempt, n), (1, 1));
    assert!(j.reconciling);
    // Not charged: runs again, then completes.
    let (j, _) = settle(
        &db,
        EffectPolicy::Reconcilable,
        "not_charged",
        JobState::Completed,
    )
    .await;
    assert_eq!(j.attempt, 2);
    assert!(!j.reconciling);
    // Unknown first: stays in doubt with backoff, asks again, then settles.
    let (j, n) = settle(
        &db,
        EffectPolicy::Reconcilable,
        "unknown_then_charged",
        JobState::Completed,
    )
    .await;
    assert_eq!((j.attempt, n), (1, 2));
    assert!(
        j.errors
            .iter()
            .any(|e| e.error.contains("provider unreachable")),
        "{:?}",
        j.errors
    );
}

both!(at_most_once_jobs_wait_for_a_person);
async fn at_most_once_jobs_wait_for_a_person(db: TestDb) {
    let (j, n) = settle(&db, EffectPolicy::AtMostOnce, "charged", JobState::InDoubt).await;
    assert_eq!((j.attempt, n), (1, 0), "never retried, never reconciled");
    let store = db.store().await;
    let done = store
        .job_resolve(
            j.id,
            oncely::store::Resolution::Completed,
            &oncely::store::Decision::new("test", "charge ch_1 found").expect("decision"),
        )
        .await
        .expect("resolve");
    assert_eq!(done.state, JobState::Completed);
}

both!(a_later_attempt_resumes_at_the_first_unfinished_step);
async fn a_later_attempt_resumes_at_the_first_unfinished_step(db: TestDb) {
    let store = db.store().await;
    let charges = Arc::new(AtomicU32::new(0));
    let emails = Arc::new(AtomicU32::new(0));
    let (c, e) = (charges.clone(), emails.clone());
    let client = Client::builder(store.clone())
        .queue("q", 1)
        .config(fast_config())
        .register_fn("two-steps", move |ctx| {
            let (charges, emails) = (c.clone(), e.clone());
            async move {
                let charge: String = ctx
                    .step("charge", || async {
                        charges.fetch_add(1, Ordering::SeqCst);
                        Ok(format!("ch_{}", ctx.id()))
                    })
                    .await?;
                if ctx.attempt() == 1 {
                    return Err(JobError::retry("crashed between the steps"));
                }
                ctx.step("email", || async {
                    emails.fetch_add(1, Ordering::SeqCst);
                    Ok(charge.clone())
                })
                .await?;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let id = client
        .insert(&NewJob::new("q", "two-steps", json!({})))
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
    assert_eq!(j.attempt, 2);
    assert_eq!(
        charges.load(Ordering::SeqCst),
        1,
        "the finished step was replayed, not run again"
    );
    assert_eq!(emails.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.step_get(id, "email").await.expect("get"),
        Some(json!(format!("ch_{id}")))
    );
}

both!(errors_raised_with_question_mark_never_repeat_at_most_once_jobs);
/// `?` on an error does not say whether the effect started: idempotent jobs
/// are retried, at-most-once jobs go in doubt.
async fn errors_raised_with_question_mark_never_repeat_at_most_once_jobs(db: TestDb) {
    let store = db.store().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let client = Client::builder(store.clone())
        .queue("q", 2)
        .config(fast_config())
        .register_fn("call", move |ctx| {
            let calls = counted.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                if ctx.attempt() == 1 {
                    Err(std::io::Error::other("connection reset after sending"))?;
                }
                Ok(())
            }
        })
        .build()
        .expect("client");
    let idempotent = client
        .insert(&NewJob::new("q", "call", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    let careful = client
        .insert(&NewJob::new("q", "call", json!({})).at_most_once())
        .await
        .expect("insert")
        .job
        .id;
    let running = client.start();
    eventually("settled", || async {
        state_of(&store, idempotent).await == JobState::Completed
            && state_of(&store, careful).await == JobState::InDoubt
    })
    .await;
    running.shutdown().await;
    let j = store.job_get(careful).await.expect("get").expect("row");
    assert_eq!(j.attempt, 1, "never repeated");
    assert!(
        j.errors[0].error.contains("connection reset after sending"),
        "{:?}",
        j.errors
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3, "2 attempts + 1");
}
