//! Helpers shared by the conformance tests.

use std::time::Duration;

use oncely::store::{ClaimParams, ReconcileClaim, Store};
use oncely::{Job, NewJob};
use serde_json::json;

/// A plain job in queue `q` of kind `k`.
pub fn job() -> NewJob {
    NewJob::new("q", "k", json!({"n": 1}))
}

/// Claim parameters for queue `q`, kind `k`.
pub fn claim_params(limit: u32) -> ClaimParams {
    ClaimParams {
        queue: "q".into(),
        kinds: vec!["k".into()],
        limit,
        lease: Duration::from_secs(30),
        worker_id: "test-worker".into(),
    }
}

/// Reconciliation claims without a settle time: every in-doubt job of the
/// kinds in `every_job_kinds`, and flagged ones of kind `k`.
pub fn reconcile(every_job_kinds: &[&str]) -> ReconcileClaim {
    ReconcileClaim {
        every_job_kinds: every_job_kinds.iter().map(|k| k.to_string()).collect(),
        settle: Duration::ZERO,
    }
}

/// Inserts `job()` and claims it; returns the claimed row.
pub async fn insert_and_claim(store: &Store) -> Job {
    let inserted = store.job_insert(&job()).await.expect("insert");
    let claimed = store.job_claim(&claim_params(1)).await.expect("claim");
    assert_eq!(claimed.len(), 1, "one job claimed");
    assert_eq!(claimed[0].id, inserted.job.id);
    claimed.into_iter().next().expect("claimed")
}
