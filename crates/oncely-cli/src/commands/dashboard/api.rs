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
use oncely::store::JobFilter;
use oncely::JobState;
use serde::{Deserialize, Serialize};

use super::action::{job_id, Action, Done, Outcome};
use super::problem::Problem;
use super::{detail, Console};

/// Jobs per page when `limit` is not given.
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
        .route("/api/jobs/{id}/{action}", post(on_job))
        .route("/api/queues", get(queues))
        .route("/api/queues/{name}/{action}", post(on_queue))
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

/// The body of an action: why, optionally who, and for a resolution, `as`.
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

/// What an action on a job answers.
#[derive(Debug, Serialize)]
struct Acted {
    job: oncely::Job,
    message: String,
}

/// `POST /api/jobs/{id}/{retry|cancel|resolve}`.
async fn on_job(
    State(console): State<Console>,
    Path((id, verb)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        let action = Action::on_job(&id, &verb, body.resolution.as_deref())?;
        perform(&console, action, &body).await
    };
    answer(result.await)
}

/// `POST /api/queues/{name}/{pause|resume}`.
async fn on_queue(
    State(console): State<Console>,
    Path((name, verb)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = authorize(&console, &headers, &body)?;
        perform(&console, Action::on_queue(&name, &verb)?, &body).await
    };
    answer(result.await)
}

async fn perform(console: &Console, action: Action, body: &ActionBody) -> Result<Outcome, Problem> {
    let by = body.by.as_deref().unwrap_or(API_ACTOR);
    action
        .perform(
            &console.store,
            by,
            body.reason.as_deref(),
            "the console API",
        )
        .await
}

/// A job action answers the job and a message; a queue action its state.
fn answer(result: Result<Outcome, Problem>) -> Response {
    match result {
        Ok(Outcome {
            done: Done::Job(job),
            message,
        }) => Json(Acted { job: *job, message }).into_response(),
        Ok(Outcome {
            done: Done::Queue(state),
            ..
        }) => Json(state).into_response(),
        Err(p) => p.into_response(),
    }
}
