//! What the overview shows, read in one go: counts by queue and state, the
//! leader, schedules, paused queues, in-doubt and failing jobs. Read-only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use oncely::schedule::ScheduleRecord;
use oncely::store::{JobFilter, LeaderTerm, QueueState, WorkerRecord};
use oncely::{Job, JobState, Store};
use serde::Serialize;

/// Jobs listed per table.
const LISTED: u32 = 50;

/// What the page shows, read in one go.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Counts, leader and schedules (all the metrics need).
    #[serde(flatten)]
    pub overview: Overview,
    /// Jobs waiting for a decision.
    pub in_doubt: Vec<Job>,
    /// Retryable and discarded jobs, newest first.
    pub failing: Vec<Job>,
}

/// Counts by queue and state, the leader, the schedules.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Database time.
    pub now: DateTime<Utc>,
    /// Job counts by queue, then state.
    pub counts: BTreeMap<String, BTreeMap<&'static str, i64>>,
    /// The latest leader, live or not.
    pub leader: Option<LeaderTerm>,
    /// Whether its lease still runs.
    pub leader_live: bool,
    /// Every usable schedule.
    pub schedules: Vec<ScheduleRecord>,
    /// Schedules that cannot be used (skipped by the periodic enqueuer).
    pub broken_schedules: Vec<oncely::schedule::BrokenSchedule>,
    /// Queues with a pause record (paused or resumed).
    pub queue_states: Vec<QueueState>,
    /// Workers seen in the last [`WORKERS_SEEN_WITHIN`].
    pub workers: Vec<WorkerRecord>,
}

/// How recently a worker must have reported to be shown.
pub const WORKERS_SEEN_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

pub async fn overview(store: &Store) -> oncely::Result<Overview> {
    let now = store.db_now().await?;
    let mut counts: BTreeMap<String, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for c in store.queue_counts().await? {
        *counts
            .entry(c.queue)
            .or_default()
            .entry(c.state.as_str())
            .or_default() += c.count;
    }
    let leader = store.leader_get().await?;
    let leader_live = leader.as_ref().is_some_and(|l| l.expires_at > now);
    let listing = store.schedule_list().await?;
    let queue_states = store.queue_states().await?;
    for q in queue_states.iter().filter(|q| q.paused()) {
        counts.entry(q.name.clone()).or_default();
    }
    let workers = store.worker_list(WORKERS_SEEN_WITHIN).await?;
    Ok(Overview {
        workers,
        queue_states,
        now,
        counts,
        leader,
        leader_live,
        schedules: listing.records,
        broken_schedules: listing.broken,
    })
}

pub async fn read(store: &Store) -> oncely::Result<Snapshot> {
    let list = |state| JobFilter {
        state: Some(state),
        queue: None,
        limit: Some(LISTED),

        ..Default::default()
    };
    let mut failing = store.job_list(&list(JobState::Retryable)).await?;
    failing.extend(store.job_list(&list(JobState::Discarded)).await?);
    failing.sort_by_key(|j| std::cmp::Reverse(j.id));
    failing.truncate(LISTED as usize);
    Ok(Snapshot {
        overview: overview(store).await?,
        in_doubt: store.job_list(&list(JobState::InDoubt)).await?,
        failing,
    })
}
