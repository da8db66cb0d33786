//! The console's JSON API: the contract scripts use.
//!
//! Reads are open (the console listens on loopback by default); every POST
//! needs `Authorization: Bearer TOKEN` and goes through the same library
//! calls as the CLI, recorded in the operator log with who and why. Bodies
//! are parsed here so that every error is JSON ([`Problem`]).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use oncely::store::{Decision, JobFilter, Resolution};
use oncely::JobState;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{detail, Console};

/// Jobs per page when `limit` is not given, and the most allowed.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page.
pub const MAX_PAGE: u32 = 500;
/// Who an API action is recorded as when the body names nobody.
pub const API_ACTOR: &str = "console-api";

/// The API routes (state: the console).
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/api/snapshot", get(snapshot))
        .route("/api/jobs", get(list))
        .route("/api/jobs/{id}", get(show))
        .route("/api/jobs/{id}/retry", post(retry))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/resolve", post(resolve))
        .route("/api/queues", get(queues))
        .route("/api/queues/{name}/pause", post(pause))
        .route("/api/queues/{name}/resume", post(resume))
}

/// `GET /api/jobs` query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only this queue.
    pub queue: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Text in args or errors.
    pub q: Option<String>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<i64>,
}

impl ListQuery {
    /// The library filter, or what is wrong with the query. Empty values
    /// mean "any".
    pub fn filter(&self) -> Result<JobFilter, Problem> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let state = given(&self.state)
            .map(str::parse::<JobState>)
            .transpose()
            .map_err(|e| Problem::from(oncely::Error::from(e)))?;
        if let Some(queue) = given(&self.queue) {
            oncely::job::validate_queue(queue)
                .map_err(|e| Problem::from(oncely::Error::from(e)))?;
        }
        if let Some(kind) = given(&self.kind) {
            oncely::job::validate_kind(kind).map_err(|e| Problem::from(oncely::Error::from(e)))?;
        }
        let text = given(&self.q);
        if text.is_some_and(|t| t.len() > 200 || t.contains('\0')) {
            return Err(Problem::bad_request(
                "q must be at most 200 bytes, without NUL",
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Problem::bad_request(format!(
                "limit must be 1 to {MAX_PAGE}, got {limit}"
            )));
        }
        Ok(JobFilter {
            state,
            queue: given(&self.queue).map(str::to_owned),
            kind: given(&self.kind).map(str::to_owned),
            text: text.map(str::to_owned),
            before_id: self.after,
            limit: Some(limit),
        })
    }
}

/// One page of jobs and where the next begins.
#[derive(Debug, Serialize)]
pub struct Page {
    /// Newest first.
    pub jobs: Vec<oncely::Job>,
    /// Pass as `after` for the next page; null on the last.
    pub next: Option<i64>,
}

/// Reads one page of jobs.
pub async fn page(console: &Console, query: &ListQuery) -> Result<Page, Problem> {
    let filter = query.filter()?;
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE) as usize;
    let jobs = console.store.job_list(&filter).await?;
    let next = (jobs.len() == limit)
        .then(|| jobs.last().map(|j| j.id))
        .flatten();
    Ok(Page { jobs, next })
}

async fn snapshot(State(console): State<Console>) -> Response {
    match super::snapshot::read(&console.store).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn list(
    State(console): State<Console>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return Problem::bad_request(e.body_text()).into_response(),
    };
    match page(&console, &query).await {
        Ok(p) => Json(p).into_response(),
        Err(p) => p.into_response(),
    }
}

async fn show(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let id = match job_id(&id) {
        Ok(id) => id,
        Err(p) => return p.into_response(),
    };
    match detail::read(&console.store, id).await {
        Ok(d) => Json(d).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn queues(State(console): State<Console>) -> Response {
    match console.store.queue_states().await {
        Ok(q) => Json(q).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// The body of an action: why, and optionally who.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    reason: Option<String>,
    by: Option<String>,
    #[serde(rename = "as")]
    resolution: Option<String>,
}

/// Checks the token and the console's mode, then parses the body.
fn authorize(console: &Console, headers: &HeaderMap, body: &Bytes) -> Result<ActionBody, Problem> {
    if console.read_only {
        return Err(Problem::read_only());
    }
    console
        .auth
        .check_bearer(headers)
        .map_err(|d| Problem::denied(d, "bearer token"))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("body: {e}")))
}

fn decision(body: &ActionBody, default_reason: &str) -> Result<Decision, Problem> {
    let by = body.by.as_deref().unwrap_or(API_ACTOR);
    let reason = body.reason.as_deref().unwrap_or(default_reason);
    Decision::new(by, reason).map_err(|e| Problem::from(oncely::Error::from(e)))
}

fn job_id(raw: &str) -> Result<i64, Problem> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::bad_request(format!("job id {raw:?} is not a positive integer")))
}

/// What an action on a job answers.
#[derive(Debug, Serialize)]
struct Acted {
    job: oncely::Job,
    message: String,
}

async fn retry(
    State(console): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        let id = job_id(&id)?;
        let job = console
            .store
            .job_retry_now(id, &decision(&body, "retried from the console API")?)
            .await?;
        let message = format!("job {} is {}", job.id, job.state);
        Ok::<_, Problem>(Acted { job, message })
    };
    answer(result.await)
}

async fn cancel(
    State(console): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        let id = job_id(&id)?;
        let job = console
            .store
            .job_cancel(id, &decision(&body, "cancelled from the console API")?)
            .await?;
        let message = if job.state == JobState::Running {
            format!(
                "job {} is running: cancel requested; it is cancelled once attempt {} has stopped",
                job.id, job.attempt
            )
        } else {
            format!("job {} is {}", job.id, job.state)
        };
        Ok::<_, Problem>(Acted { job, message })
    };
    answer(result.await)
}

async fn resolve(
    State(console): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        let id = job_id(&id)?;
        let Some(raw) = body.resolution.as_deref() else {
            return Err(Problem::bad_request(
                "body needs \"as\": \"completed\", \"retry\" or \"discarded\"",
            ));
        };
        let resolution =
            Resolution::parse(raw).map_err(|e| Problem::from(oncely::Error::from(e)))?;
        if body.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(Problem::bad_request("body needs a \"reason\": say why"));
        }
        let by = decision(&body, "")?;
        let job = console.store.job_resolve(id, resolution, &by).await?;
        let message = format!("job {} is {} ({})", job.id, job.state, resolution.note(&by));
        Ok::<_, Problem>(Acted { job, message })
    };
    answer(result.await)
}

async fn pause(
    State(console): State<Console>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    queue_action(console, name, headers, body, true).await
}

async fn resume(
    State(console): State<Console>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    queue_action(console, name, headers, body, false).await
}

async fn queue_action(
    console: Console,
    name: String,
    headers: HeaderMap,
    body: Bytes,
    pause: bool,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        let state = if pause {
            let by = decision(&body, "paused from the console API")?;
            console.store.queue_pause(&name, &by).await?
        } else {
            let by = decision(&body, "resumed from the console API")?;
            console.store.queue_resume(&name, &by).await?
        };
        Ok::<_, Problem>(state)
    };
    match result.await {
        Ok(state) => Json(state).into_response(),
        Err(p) => p.into_response(),
    }
}

fn answer(result: Result<Acted, Problem>) -> Response {
    match result {
        Ok(acted) => Json(acted).into_response(),
        Err(p) => p.into_response(),
    }
}
