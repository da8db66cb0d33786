//! `/jobs/{id}`: the job in full — args as pretty JSON, effect policy, every
//! attempt with fencing token, worker, start, end, outcome and error,
//! recovery points, operator decisions — and the actions its state allows.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use oncely::{Job, JobState};

use super::layout::{page, problem, time, Viewer};
use super::Flash;
use crate::commands::dashboard::detail::{self, JobDetail};
use crate::commands::dashboard::problem::Problem;
use crate::commands::dashboard::Console;

/// The page.
pub async fn get(
    State(console): State<Console>,
    headers: HeaderMap,
    flash: Flash,
    Path(id): Path<String>,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return (
            StatusCode::BAD_REQUEST,
            Html(problem(&viewer, "a job id is a positive integer").into_string()),
        )
            .into_response();
    };
    match detail::read(&console.store, id).await {
        Ok(d) => {
            let title = format!("Job {} — {}", d.job.id, d.job.kind);
            let body = html! {
                section #job-state data-live { (summary(&d)) }
                (actions(&viewer, &d.job))
                h2 { "Attempts" }
                section #attempts data-live { (attempts(&d)) }
                h2 { "Args" }
                pre #args { (serde_json::to_string_pretty(&d.job.args).unwrap_or_default()) }
                h2 { "Recovery points" }
                section #steps data-live { (steps(&d)) }
                h2 { "Operator decisions" }
                section #decisions data-live { (decisions(&d)) }
            };
            Html(page(&title, "/jobs", &viewer, flash.message(), body).into_string())
                .into_response()
        }
        Err(e) => {
            let p = Problem::from(e);
            (p.status, Html(problem(&viewer, &p.message).into_string())).into_response()
        }
    }
}

fn summary(d: &JobDetail) -> Markup {
    let j = &d.job;
    html! {
        table #summary {
            tr { th { "state" } td.doubt[j.state == JobState::InDoubt] #state { (j.state.as_str()) } }
            tr { th { "queue" } td { (j.queue) } }
            tr { th { "kind" } td { (j.kind) } }
            tr { th { "effect policy" } td #policy { (d.policy) } }
            tr { th { "attempt" } td { (j.attempt) " of " (j.max_attempts) @if j.reruns > 0 { " (" (j.reruns) " granted by reconciliation)" } } }
            tr { th { "fencing token" } td #fence { (j.fence) } }
            tr { th { "worker" } td { (j.locked_by.as_deref().unwrap_or("-")) } }
            tr { th { "lease until" } td { (time(j.lease_expires_at)) } }
            @if let Some(at) = j.cancel_requested_at {
                tr { th { "cancel requested" } td { (time(Some(at))) " — stops when its attempt has ended" } }
            }
            tr { th { "run at" } td { (time(Some(j.run_at))) } }
            tr { th { "created" } td { (time(Some(j.created_at))) } }
            tr { th { "finalized" } td { (time(j.finalized_at)) } }
            tr { th { "unique key" } td { (j.unique_key.as_deref().unwrap_or("-")) } }
            tr { th { "idempotency key" } td { (j.idempotency_key) } }
        }
    }
}

fn attempts(d: &JobDetail) -> Markup {
    html! {
        @if d.attempts.is_empty() {
            p.muted { "Not attempted yet." }
        } @else {
            table #attempts-table {
                tr { th { "attempt" } th { "fencing token" } th { "worker" } th { "started" } th { "ended" } th { "outcome" } th { "error" } }
                @for a in &d.attempts {
                    tr data-attempt=(a.attempt) {
                        td.n { (a.attempt) }
                        td.n { (a.fence.map(|f| f.to_string()).unwrap_or_else(|| "-".into())) }
                        td { (a.worker.as_deref().unwrap_or("-")) }
                        td { (time(a.started_at)) }
                        td { (time(a.ended_at)) }
                        td { (a.outcome) }
                        td { (a.error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

fn steps(d: &JobDetail) -> Markup {
    html! {
        @if d.steps.is_empty() {
            p.muted { "None stored." }
        } @else {
            table {
                tr { th { "step" } th { "stored by token" } th { "at" } th { "result" } }
                @for s in &d.steps {
                    tr { td { (s.name) } td.n { (s.fence) } td { (time(Some(s.created_at))) } td { code { (s.result.to_string()) } } }
                }
            }
        }
    }
}

fn decisions(d: &JobDetail) -> Markup {
    html! {
        @if d.decisions.is_empty() {
            p.muted { "None." }
        } @else {
            table #decisions-table {
                tr { th { "when" } th { "who" } th { "action" } th { "why" } th { "left it" } }
                @for a in &d.decisions {
                    tr { td { (time(Some(a.at))) } td { (a.actor) } td { (a.action) } td { (a.reason) } td { (a.outcome) } }
                }
            }
        }
    }
}

/// The forms the job's state allows, for a viewer who may act.
fn actions(viewer: &Viewer, j: &Job) -> Markup {
    let Some(csrf) = viewer.may_act() else {
        return html! {
            @if !viewer.read_only { p.muted { a href="/login" { "Sign in" } " to retry, cancel or resolve." } }
        };
    };
    let back = format!("/jobs/{}", j.id);
    html! {
        section #actions {
            @if j.state != JobState::Running {
                (action_form(csrf, &format!("/jobs/{}/retry", j.id), &back, "Retry now", None))
            }
            @if !j.state.is_final() {
                (action_form(csrf, &format!("/jobs/{}/cancel", j.id), &back, "Cancel", None))
            }
            @if j.state == JobState::InDoubt {
                (resolve_form(csrf, j.id, &back))
            }
        }
    }
}

/// A one-button action with a reason.
pub fn action_form(csrf: &str, action: &str, back: &str, label: &str, id: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) id=[id] {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            input type="text" name="reason" placeholder="reason" size="24";
            button type="submit" { (label) }
        }
    }
}

/// The resolve form of an in-doubt job.
pub fn resolve_form(csrf: &str, id: i64, back: &str) -> Markup {
    html! {
        form.inline.resolve method="post" action=(format!("/jobs/{id}/resolve")) data-job=(id) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            select name="as" {
                option value="completed" { "it happened: completed" }
                option value="retry" { "it did not: retry" }
                option value="discarded" { "give up: discarded" }
            }
            input type="text" name="reason" placeholder="why (required)" size="28" required;
            button type="submit" { "Resolve" }
        }
    }
}
