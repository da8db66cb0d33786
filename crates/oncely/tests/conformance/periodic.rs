//! Leader election, schedules, once-per-period firing, pruning.

use std::time::Duration;

use oncely::maintenance::periodic::{job_for_period, PeriodicConfig, PeriodicEnqueuer};
use oncely::maintenance::pruner::{Pruner, PrunerConfig};
use oncely::schedule::{CatchUp, Schedule, Spec};
use oncely::store::{FireParams, LeaderTerm};
use oncely::{Error, NewJob};
use oncely_testkit::{Backend, TestDb};
use serde_json::json;

const TTL: Duration = Duration::from_secs(30);

async fn expire_leader(db: &TestDb) {
    let past = match db.backend {
        Backend::Postgres => "now() - interval '1 second'",
        Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds')",
        Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND",
    };
    db.exec(&format!("UPDATE oncely_leaders SET expires_at = {past}"))
        .await;
}

both!(election_terms_grow_and_stale_leaders_are_refused);
async fn election_terms_grow_and_stale_leaders_are_refused(db: TestDb) {
    let store = db.store().await;
    let a = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("a leads");
    assert!(
        store
            .leader_attempt_elect("b", TTL)
            .await
            .expect("elect")
            .is_none(),
        "b follows"
    );
    let again = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("a still leads");
    assert_eq!(again.term, a.term, "re-election extends the same term");
    assert!(again.expires_at >= a.expires_at);
    // a's lease runs out without a noticing: b takes over with a larger term.
    expire_leader(&db).await;
    let b = store
        .leader_attempt_elect("b", TTL)
        .await
        .expect("elect")
        .expect("b leads");
    assert!(b.term > a.term);
    assert!(store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .is_none());
    // a still believes it leads: its leader-only writes are refused.
    let job = NewJob::new("q", "k", json!({}));
    let stale = store
        .schedule_fire(&FireParams {
            schedule: "s",
            period_start: chrono::Utc::now(),
            job: &job,
            term: &a,
        })
        .await;
    assert!(
        matches!(stale, Err(Error::LeadershipLost { .. })),
        "{stale:?}"
    );
    let prune = oncely::store::PruneParams {
        completed_older_than: Duration::ZERO,
        others_older_than: Duration::ZERO,
        batch: 10,
    };
    assert!(matches!(
        store.job_prune(&prune, &a).await,
        Err(Error::LeadershipLost { .. })
    ));
    assert!(
        !store.leader_resign(&a).await.expect("resign"),
        "a cannot resign b's term"
    );
    assert!(store.leader_resign(&b).await.expect("resign"));
    let a2 = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("a leads again");
    assert!(a2.term > b.term);
    assert_eq!(
        store
            .leader_get()
            .await
            .expect("get")
            .expect("leader")
            .leader_id,
        "a"
    );
}

both!(a_period_fires_once_even_with_two_believed_leaders);
async fn a_period_fires_once_even_with_two_believed_leaders(db: TestDb) {
    let store = db.store().await;
    let term = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("leader");
    let period = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let job = NewJob::new("q", "k", json!({}));
    let fire = |t: LeaderTerm| {
        let store = store.clone();
        let job = job.clone();
        async move {
            store
                .schedule_fire(&FireParams {
                    schedule: "s",
                    period_start: period,
                    job: &job,
                    term: &t,
                })
                .await
        }
    };
    let first = fire(term.clone()).await.expect("fire");
    assert!(first.is_some());
    assert_eq!(
        fire(term.clone()).await.expect("fire"),
        None,
        "already fired"
    );
    let jobs = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(jobs.len(), 1);
    assert_eq!(Some(jobs[0].id), first);
}

both!(schedules_round_trip_and_keep_their_history);
async fn schedules_round_trip_and_keep_their_history(db: TestDb) {
    let store = db.store().await;
    let mut s = Schedule::new(
        "nightly",
        Spec::cron("0 2 * * *"),
        "q",
        "k",
        json!({"x": 1}),
    );
    store.schedule_upsert(&s).await.expect("upsert");
    let first = store.schedule_list().await.expect("list").records;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].schedule, s);
    s.catch_up = CatchUp::All { max: 7 };
    s.reconcilable = true;
    store.schedule_upsert(&s).await.expect("upsert");
    let second = store.schedule_list().await.expect("list").records;
    assert_eq!(second[0].schedule, s, "an update is stored");
    let period = job_for_period(&second[0].schedule, chrono::Utc::now());
    assert!(
        period.reconcilable && period.stored_at_most_once(),
        "a reconcilable schedule's jobs are reconcilable"
    );
    assert_eq!(second[0].created_at, first[0].created_at);
    let bad = Schedule::new("bad", Spec::cron("nope"), "q", "k", json!({}));
    assert!(matches!(
        store.schedule_upsert(&bad).await,
        Err(Error::Invalid(_))
    ));
    assert!(store.schedule_remove("nightly").await.expect("remove"));
    assert!(!store.schedule_remove("nightly").await.expect("remove"));
}

async fn backdate_schedules(db: &TestDb, seconds: u32) {
    let past = match db.backend {
        Backend::Postgres => format!("now() - interval '{seconds} seconds'"),
        Backend::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{seconds} seconds')"),
        Backend::MariaDb => format!("UTC_TIMESTAMP(6) - INTERVAL {seconds} SECOND"),
    };
    db.exec(&format!("UPDATE oncely_schedules SET created_at = {past}"))
        .await;
}

both!(catch_up_policies_fire_the_missed_periods_they_allow);
async fn catch_up_policies_fire_the_missed_periods_they_allow(db: TestDb) {
    let store = db.store().await;
    let every = Spec::every(Duration::from_secs(60));
    let mut all = Schedule::new("all", every.clone(), "q", "k", json!({}));
    all.catch_up = CatchUp::All { max: 5 };
    let latest = Schedule::new("latest", every.clone(), "q", "k", json!({}));
    let mut skip = Schedule::new("skip", every, "q", "k", json!({}));
    skip.catch_up = CatchUp::Skip { grace_secs: 0 };
    for s in [&all, &latest, &skip] {
        store.schedule_upsert(s).await.expect("upsert");
    }
    // Nobody ran for an hour.
    backdate_schedules(&db, 3600).await;
    let term = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("leader");
    let enqueuer = PeriodicEnqueuer::new(store.clone(), PeriodicConfig::default());
    let report = enqueuer.run_once(&term).await.expect("pass");
    assert_eq!(
        report.fired,
        5 + 1,
        "all: 5 most recent; latest: 1; skip: none late"
    );
    let again = enqueuer.run_once(&term).await.expect("pass");
    assert_eq!(again.fired, 0, "nothing fires twice");
    let jobs = store.job_list(&Default::default()).await.expect("list");
    let keys: std::collections::HashSet<_> =
        jobs.iter().filter_map(|j| j.unique_key.clone()).collect();
    assert_eq!(keys.len(), 6, "one job per period");
    let listed = store.schedule_list().await.expect("list").records;
    assert!(listed
        .iter()
        .filter(|r| r.schedule.name != "skip")
        .all(|r| r.last_period.is_some()));
}

/// The SQL of an instant two days ago on `backend`.
fn two_days_ago(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "now() - interval '2 days'",
        Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-172800 seconds')",
        Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 2 DAY",
    }
}

/// Inserts a job and marks it `state`, finalized at `at` (SQL of the
/// backend's, e.g. [`two_days_ago`]); its id.
async fn finished_job(db: &TestDb, store: &oncely::Store, state: &str, at: &str) -> i64 {
    let id = store
        .job_insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert")
        .job
        .id;
    db.exec(&format!(
        "UPDATE oncely_jobs SET state = '{state}', finalized_at = {at} WHERE id = {id}"
    ))
    .await;
    id
}

both!(pruner_deletes_only_old_final_jobs_in_batches);
async fn pruner_deletes_only_old_final_jobs_in_batches(db: TestDb) {
    let store = db.store().await;
    let live = store
        .job_insert(&NewJob::new("q", "k", json!({})))
        .await
        .expect("insert")
        .job;
    let old = two_days_ago(db.backend);
    let recent = match db.backend {
        Backend::Postgres => "now()",
        Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Backend::MariaDb => "UTC_TIMESTAMP(6)",
    };
    for (state, at, n) in [
        ("completed", old, 25),
        ("completed", recent, 3),
        ("discarded", old, 4),
    ] {
        for _ in 0..n {
            finished_job(&db, &store, state, at).await;
        }
    }
    let term = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("leader");
    let pruner = Pruner::new(
        store.clone(),
        PrunerConfig {
            batch: 10,
            pause: Duration::ZERO,
            ..Default::default()
        },
    );
    let report = pruner.run_once(&term).await.expect("prune");
    assert_eq!(
        report.jobs, 25,
        "old completed only (discarded keep 7 days)"
    );
    assert!(report.batches >= 3, "in batches: {report:?}");
    let left = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(left.len(), 1 + 3 + 4);
    assert!(left.iter().any(|j| j.id == live.id));
}

both!(pruner_takes_the_longest_retention_and_refuses_a_longer_one);
async fn pruner_takes_the_longest_retention_and_refuses_a_longer_one(db: TestDb) {
    let store = db.store().await;
    finished_job(&db, &store, "completed", two_days_ago(db.backend)).await;
    let term = store
        .leader_attempt_elect("a", TTL)
        .await
        .expect("elect")
        .expect("leader");
    let longest = PrunerConfig::MAX_RETENTION;
    let keep_all = PrunerConfig {
        completed_retention: longest,
        others_retention: longest,
        firing_retention: longest,
        ..Default::default()
    };
    keep_all
        .validate()
        .expect("the longest retention is allowed");
    let report = Pruner::new(store.clone(), keep_all)
        .run_once(&term)
        .await
        .expect("a pass with the longest retention runs on every backend");
    assert_eq!(report.jobs, 0, "nothing is that old");
    for absurd in [longest + Duration::from_secs(1), Duration::MAX] {
        let config = PrunerConfig {
            completed_retention: absurd,
            ..Default::default()
        };
        let refused = config.validate().expect_err("longer than the longest");
        assert!(
            refused.to_string().contains("retention"),
            "a clear error: {refused}"
        );
    }
}
