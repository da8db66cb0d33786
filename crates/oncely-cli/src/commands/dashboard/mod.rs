//! `oncely dashboard`: the operator's console. Pages to browse, inspect and
//! act on jobs and queues ([`pages`]), a JSON API for scripts ([`api`]) and
//! Prometheus metrics, served by one axum router.
//!
//! Invariants: it reaches the database only through the library, with the
//! same calls and rules as the CLI; every action needs the console's token
//! (API: bearer; pages: a session opened with it, plus its CSRF value) and is
//! recorded with who and why; `--read-only` serves no action at all; bodies
//! over [`BODY_LIMIT`] are refused; the access log names method, path (no
//! query: it may hold search text), status and time, never job args.

mod action;
mod api;
mod auth;
mod detail;
mod metrics;
mod pages;
mod problem;
mod snapshot;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use oncely::Store;

use crate::cli::DashboardArgs;
use crate::error::CliError;

pub use metrics::{WorkerMetrics, CONTENT_TYPE as METRICS_CONTENT_TYPE};

/// Largest request body accepted (forms and API bodies are small).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct Console {
    /// The database.
    pub store: Store,
    /// The token and browser sessions.
    pub auth: Arc<auth::Auth>,
    /// Serve no actions.
    pub read_only: bool,
    /// The last hour's throughput, read at most every [`THROUGHPUT_TTL`]
    /// (it scans every job finalized in the hour).
    pub throughput: Arc<tokio::sync::Mutex<Option<CachedThroughput>>>,
}

/// The throughput chart's data and when it was read.
pub type CachedThroughput = (Instant, Vec<oncely::store::MinuteCount>);

/// How long the overview's throughput chart is reused before it is read again.
pub const THROUGHPUT_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl Console {
    /// Jobs finalized per minute over the last `minutes`, from the cache when
    /// it is younger than [`THROUGHPUT_TTL`].
    pub async fn throughput(
        &self,
        minutes: u32,
    ) -> oncely::Result<Vec<oncely::store::MinuteCount>> {
        let mut cached = self.throughput.lock().await;
        if let Some((at, counts)) = cached.as_ref() {
            if at.elapsed() < THROUGHPUT_TTL {
                return Ok(counts.clone());
            }
        }
        let counts = self.store.job_throughput(minutes).await?;
        *cached = Some((Instant::now(), counts.clone()));
        Ok(counts)
    }
}

async fn prometheus(State(console): State<Console>) -> Response {
    match snapshot::overview(&console.store).await {
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
                [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
                metrics::database(&metrics::DatabaseView {
                    counts: &s.counts,
                    leader: s.leader.as_ref(),
                    leader_live: s.leader_live,
                    schedules: &schedules,
                    broken_schedules: s.broken_schedules.len(),
                    queue_states: &s.queue_states,
                }),
            )
                .into_response()
        }
        Err(e) => problem::Problem::from(e).into_response(),
    }
}

/// Binds `listen` (port 0 picks a free one), or says why it cannot.
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {listen:?}: {e}")))?;
    Ok(listener)
}

/// Refuses every request that is not a read when the console is read-only.
async fn read_only_guard(State(console): State<Console>, request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if console.read_only && !reads {
        return problem::Problem::read_only().into_response();
    }
    next.run(request).await
}

/// One log line per request: method, path, status, milliseconds.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        target: "oncely::console::access",
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// The whole console.
pub fn router(console: Console) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .route("/metrics", get(prometheus))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            read_only_guard,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(console)
}

/// The token to guard actions with: given, or generated (and printed).
fn token(args: &DashboardArgs) -> Result<(String, bool), CliError> {
    match &args.token {
        Some(t) if t.trim().chars().count() >= auth::MIN_TOKEN_CHARS => {
            Ok((t.trim().to_owned(), false))
        }
        Some(_) => Err(CliError::Usage(format!(
            "--token (or ONCELY_DASHBOARD_TOKEN) must be at least {} characters",
            auth::MIN_TOKEN_CHARS
        ))),
        None => Ok((auth::random_secret(), true)),
    }
}

pub async fn run(store: Store, args: DashboardArgs) -> Result<(), CliError> {
    let (token, generated) = token(&args)?;
    let listener = bind(&args.listen).await?;
    let addr = listener.local_addr().map_err(CliError::Output)?;
    // One write: a reader that takes the first line and closes the pipe
    // does not make a later write fail.
    let second = if args.read_only {
        "read-only: no actions are served".to_owned()
    } else if generated {
        format!("token (sign in with it, or send Authorization: Bearer TOKEN): {token}")
    } else {
        "token: as given by --token / ONCELY_DASHBOARD_TOKEN".to_owned()
    };
    let banner = format!("oncely dashboard listening on http://{addr}\n{second}\n");
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        out.write_all(banner.as_bytes())
            .and_then(|()| out.flush())
            .map_err(CliError::Output)?;
    }
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the console listens beyond this machine: put it behind TLS");
    }
    let console = Console {
        store,
        auth: Arc::new(auth::Auth::new(token)),
        read_only: args.read_only,
        throughput: Arc::default(),
    };
    axum::serve(listener, router(console))
        .with_graceful_shutdown(oncely::worker::shutdown_signal())
        .await
        .map_err(CliError::Output)
}
