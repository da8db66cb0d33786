//! What operators read: job lists filtered by queue, kind, state and text,
//! paged by keyset; the recovery points of a job.

use std::collections::BTreeSet;

use oncely::store::JobFilter;
use oncely::{JobState, NewJob};
use oncely_testkit::TestDb;
use serde_json::json;

use super::support::claim_params;

both!(job_lists_filter_by_kind_and_text);
async fn job_lists_filter_by_kind_and_text(db: TestDb) {
    let store = db.store().await;
    let mut by_kind = Vec::new();
    for i in 0..6 {
        let kind = if i % 2 == 0 { "k" } else { "mail" };
        let args = json!({"customer": format!("Customer-{i}"), "note": "<b>"});
        let j = store
            .job_insert(&NewJob::new("q", kind, args))
            .await
            .expect("insert")
            .job;
        by_kind.push((j.id, kind));
    }
    let list = |filter: JobFilter| {
        let store = store.clone();
        async move {
            store
                .job_list(&filter)
                .await
                .expect("list")
                .iter()
                .map(|j| j.id)
                .collect::<Vec<_>>()
        }
    };
    let mails: Vec<i64> = by_kind
        .iter()
        .rev()
        .filter(|(_, k)| *k == "mail")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        list(JobFilter {
            kind: Some("mail".into()),
            ..JobFilter::default()
        })
        .await,
        mails
    );
    // Text in args, any case.
    assert_eq!(
        list(JobFilter {
            text: Some("customer-3".into()),
            ..JobFilter::default()
        })
        .await,
        vec![by_kind[3].0]
    );
    // Text in errors: only the job whose attempt failed with it.
    let claimed = store.job_claim(&claim_params(1)).await.expect("claim");
    store
        .job_retry(&oncely::store::RetryParams {
            fence: oncely::Fence {
                job_id: claimed[0].id,
                fence: claimed[0].fence,
            },
            error: "Provider said 502 Bad Gateway".into(),
            delay: std::time::Duration::from_secs(60),
            rerun: false,
        })
        .await
        .expect("retry");
    assert_eq!(
        list(JobFilter {
            text: Some("bad gateway".into()),
            ..JobFilter::default()
        })
        .await,
        vec![claimed[0].id]
    );
    assert_eq!(
        list(JobFilter {
            text: Some("bad gateway".into()),
            state: Some(JobState::Available),
            ..JobFilter::default()
        })
        .await,
        Vec::<i64>::new()
    );
    // Wildcards of LIKE are plain text here.
    assert!(list(JobFilter {
        text: Some("%".into()),
        ..JobFilter::default()
    })
    .await
    .is_empty());
}

both!(keyset_pages_return_every_job_once_newest_first);
async fn keyset_pages_return_every_job_once_newest_first(db: TestDb) {
    let store = db.store().await;
    let jobs: Vec<NewJob> = (0..23)
        .map(|i| NewJob::new("q", "k", json!({ "i": i })))
        .collect();
    store.job_insert_many(&jobs).await.expect("insert");
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .job_list(&JobFilter {
                before_id: before,
                limit: Some(5),
                ..JobFilter::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        before = page.last().map(|j| j.id);
        seen.extend(page.iter().map(|j| j.id));
    }
    assert_eq!(seen.len(), 23);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 23);
}

both!(a_jobs_recovery_points_are_listed);
async fn a_jobs_recovery_points_are_listed(db: TestDb) {
    let store = db.store().await;
    let j = super::support::insert_and_claim(&store).await;
    let fence = oncely::Fence {
        job_id: j.id,
        fence: j.fence,
    };
    store
        .step_put(fence, "charge", &json!({"charge": "ch_1"}))
        .await
        .expect("step");
    store
        .step_put(fence, "email", &json!(["sent"]))
        .await
        .expect("step");
    let steps = store.step_list(j.id).await.expect("steps");
    let names: BTreeSet<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["charge", "email"]));
    assert!(steps.iter().all(|s| s.fence == j.fence));
    let charge = steps.iter().find(|s| s.name == "charge").expect("charge");
    assert_eq!(charge.result, json!({"charge": "ch_1"}));
    assert!(store.step_list(j.id + 1000).await.expect("none").is_empty());
}

both!(workers_report_themselves_and_their_shutdown);
async fn workers_report_themselves_and_their_shutdown(db: TestDb) {
    let store = db.store().await;
    let minutes = std::time::Duration::from_secs(300);
    store.worker_beat("w-1", "mail=10").await.expect("beat");
    store.worker_beat("w-2", "sms=1").await.expect("beat");
    store.worker_beat("w-1", "mail=20").await.expect("beat");
    let seen = store.worker_list(minutes).await.expect("list");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let w1 = seen.iter().find(|w| w.id == "w-1").expect("w-1");
    assert_eq!(w1.queues, "mail=20");
    assert!(w1.last_seen_at >= w1.started_at && w1.stopped_at.is_none());
    // SQLite's clock has millisecond steps: make the stop strictly later
    // than w-1's last beat, or the two tie.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.worker_stopped("w-2").await.expect("stopped");
    let seen = store.worker_list(minutes).await.expect("list");
    assert_eq!(seen[0].id, "w-2", "most recent first");
    assert!(seen[0].stopped_at.is_some());
    // A beat after a stop means it runs again.
    store.worker_beat("w-2", "sms=1").await.expect("beat");
    let seen = store.worker_list(minutes).await.expect("list");
    assert!(seen.iter().all(|w| w.stopped_at.is_none()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(store
        .worker_list(std::time::Duration::from_millis(100))
        .await
        .expect("list")
        .is_empty());
}
