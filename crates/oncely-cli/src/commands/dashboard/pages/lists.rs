//! `/in-doubt` (each job with its resolve form), `/queues` (counts, pause
//! state, pause and resume forms) and `/schedules`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use oncely::store::JobFilter;
use oncely::{EffectPolicy, JobState};

use super::job::{action_form, resolve_form};
use super::layout::{page, problem, time, Viewer};
use super::{overview, Flash};
use crate::commands::dashboard::snapshot;
use crate::commands::dashboard::Console;

/// In-doubt jobs listed.
const IN_DOUBT_LISTED: u32 = 200;

/// `/in-doubt`.
pub async fn in_doubt(
    State(console): State<Console>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let filter = JobFilter {
        state: Some(JobState::InDoubt),
        limit: Some(IN_DOUBT_LISTED),
        ..JobFilter::default()
    };
    let jobs = match console.store.job_list(&filter).await {
        Ok(jobs) => jobs,
        Err(e) => return Html(problem(&viewer, &e.to_string()).into_string()).into_response(),
    };
    let csrf = viewer.may_act();
    let body = html! {
        p { "An attempt of each of these may or may not have had its effect. Check the outside system, then decide." }
        section #in-doubt-list data-live {
            @if jobs.is_empty() {
                p.muted { "Nothing in doubt." }
            } @else {
                table {
                    tr { th { "id" } th { "queue" } th { "kind" } th { "attempt" } th { "why" } @if csrf.is_some() { th { "decide" } } }
                    @for j in &jobs {
                        tr data-job=(j.id) {
                            td { a href=(format!("/jobs/{}", j.id)) { (j.id) } }
                            td { (j.queue) } td { (j.kind) } td.n { (j.attempt) }
                            td { (j.errors.last().map(|e| e.error.clone()).unwrap_or_default()) }
                            @if let Some(csrf) = csrf { td { (resolve_form(csrf, j.id, "/in-doubt")) } }
                        }
                    }
                }
            }
        }
        @if csrf.is_none() && !viewer.read_only { p.muted { a href="/login" { "Sign in" } " to resolve." } }
    };
    Html(page("In doubt", "/in-doubt", &viewer, flash.message(), body).into_string())
        .into_response()
}

/// `/queues`.
pub async fn queues(State(console): State<Console>, headers: HeaderMap, flash: Flash) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let o = match snapshot::overview(&console.store).await {
        Ok(o) => o,
        Err(e) => return Html(problem(&viewer, &e.to_string()).into_string()).into_response(),
    };
    let csrf = viewer.may_act();
    let body = html! {
        section #queue-counts data-live { (overview::counts(&o)) }
        h2 { "Pause and resume" }
        p { "A paused queue is not claimed from by any worker of the fleet (running attempts go on); the pause survives restarts." }
        table #queue-states {
            tr { th { "queue" } th { "state" } th { "since" } th { "by" } th { "why" } @if csrf.is_some() { th { "" } } }
            @for name in o.counts.keys() {
                @let state = o.queue_states.iter().find(|s| &s.name == name);
                @let paused = state.is_some_and(|s| s.paused());
                tr data-queue=(name) {
                    td { (name) }
                    td.paused[paused] { @if paused { "paused" } @else { "running" } }
                    td { (time(state.and_then(|s| s.paused_at))) }
                    td { (state.and_then(|s| s.paused_by.clone()).unwrap_or_default()) }
                    td { (state.and_then(|s| s.pause_reason.clone()).unwrap_or_default()) }
                    @if let Some(csrf) = csrf {
                        td {
                            @let path = super::urlencode(name);
                            @if paused {
                                (action_form(csrf, &format!("/queues/{path}/resume"), "/queues", "Resume", None))
                            } @else {
                                (action_form(csrf, &format!("/queues/{path}/pause"), "/queues", "Pause", None))
                            }
                        }
                    }
                }
            }
        }
    };
    Html(page("Queues", "/queues", &viewer, flash.message(), body).into_string()).into_response()
}

/// `/schedules`.
pub async fn schedules(
    State(console): State<Console>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let o = match snapshot::overview(&console.store).await {
        Ok(o) => o,
        Err(e) => return Html(problem(&viewer, &e.to_string()).into_string()).into_response(),
    };
    let body = html! {
        table #schedules {
            tr { th { "name" } th { "spec" } th { "queue" } th { "kind" } th { "effect" } th { "last period" } th { "next period" } }
            @for r in &o.schedules {
                @let s = &r.schedule;
                tr {
                    td { (s.name) } td { (s.spec.describe()) } td { (s.queue) } td { (s.kind) }
                    td { (EffectPolicy::of_job(s.at_most_once, s.reconcilable).to_string()) }
                    td { (time(r.last_period)) }
                    td { (time(s.spec.next_after(o.now).ok().flatten())) }
                }
            }
            @for b in &o.broken_schedules {
                tr.broken { td { (b.name) } td colspan="6" { "broken, skipped: " (b.reason) } }
            }
        }
    };
    Html(page("Schedules", "/schedules", &viewer, flash.message(), body).into_string())
        .into_response()
}
