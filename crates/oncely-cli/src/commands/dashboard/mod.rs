//! `oncely dashboard`: a read-only web page for the people who operate
//! oncely (queues, the leader, schedules, in-doubt and failing jobs), a JSON
//! view of the same, and Prometheus metrics. It reaches the database only
//! through the library and writes nothing.

mod metrics;
mod page;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use oncely::schedule::ScheduleRecord;
use oncely::store::{JobFilter, LeaderTerm};
use oncely::{Job, JobState, Store};
use serde::Serialize;

use crate::cli::DashboardArgs;
use crate::error::CliError;

pub use metrics::worker as worker_metrics;

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
}

async fn overview(store: &Store) -> oncely::Result<Overview> {
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
    Ok(Overview {
        now,
        counts,
        leader,
        leader_live,
        schedules: listing.records,
        broken_schedules: listing.broken,
    })
}

async fn snapshot(store: &Store) -> oncely::Result<Snapshot> {
    let list = |state| JobFilter {
        state: Some(state),
        queue: None,
        limit: Some(LISTED),
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

fn unavailable(error: oncely::Error) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot read the database: {error}\n"),
    )
        .into_response()
}

async fn html(State(store): State<Arc<Store>>) -> Response {
    match snapshot(&store).await {
        Ok(s) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page::render(&s),
        )
            .into_response(),
        Err(e) => unavailable(e),
    }
}

async fn json(State(store): State<Arc<Store>>) -> Response {
    match snapshot(&store).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn prometheus(State(store): State<Arc<Store>>) -> Response {
    match overview(&store).await {
        Ok(s) => {
            let schedules: Vec<(String, Option<f64>)> = s
                .schedules
                .iter()
                .map(|r| {
                    let last = r.last_period.map(|t| t.timestamp_millis() as f64 / 1000.0);
                    (r.schedule.name.clone(), last)
                })
                .collect();
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                metrics::database(
                    &s.counts,
                    s.leader.as_ref(),
                    s.leader_live,
                    &schedules,
                    s.broken_schedules.len(),
                ),
            )
                .into_response()
        }
        Err(e) => unavailable(e),
    }
}

/// Binds `listen` (port 0 picks a free one), or says why it cannot.
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {listen:?}: {e}")))?;
    Ok(listener)
}

pub async fn run(store: Store, args: DashboardArgs) -> Result<(), CliError> {
    let listener = bind(&args.listen).await?;
    let addr = listener.local_addr().map_err(CliError::Output)?;
    crate::say!("oncely dashboard listening on http://{addr}");
    let app = Router::new()
        .route("/", get(html))
        .route("/api/snapshot", get(json))
        .route("/metrics", get(prometheus))
        .with_state(Arc::new(store));
    axum::serve(listener, app)
        .with_graceful_shutdown(oncely::worker::shutdown_signal())
        .await
        .map_err(CliError::Output)
}
