//! `/jobs`: filters `queue`, `kind`, `state`, `q` (text in args or errors),
//! newest first, one keyset page at a time (`after` = last id shown).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use oncely::{EffectPolicy, Job, JobState};

use super::layout::{page, time, Viewer};
use super::urlencode;
use super::Flash;
use crate::commands::dashboard::api::{self, ListQuery};
use crate::commands::dashboard::Console;

/// The page.
pub async fn get(
    State(console): State<Console>,
    headers: HeaderMap,
    flash: Flash,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let result = api::page(&console, &query).await;
    let body = html! {
        (filters(&query))
        @match &result {
            Ok(p) => {
                section #jobs-list data-live { (table(&p.jobs)) }
                @if let Some(next) = p.next {
                    p { a #next-page href=(next_link(&query, next)) { "Older jobs →" } }
                }
            }
            Err(problem) => { p.problem id="problem" { (problem.message) } }
        }
    };
    let status = match &result {
        Ok(_) => axum::http::StatusCode::OK,
        Err(p) => p.status,
    };
    (
        status,
        Html(page("Jobs", "/jobs", &viewer, flash.message(), body).into_string()),
    )
        .into_response()
}

fn filters(q: &ListQuery) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let state = value(&q.state);
    html! {
        form #filters method="get" action="/jobs" class="inline" {
            label { "queue " input type="text" name="queue" value=(value(&q.queue)) size="12"; }
            label { "kind " input type="text" name="kind" value=(value(&q.kind)) size="12"; }
            label { "state "
                select name="state" {
                    option value="" selected[state.is_empty()] { "any" }
                    @for s in JobState::ALL {
                        option value=(s.as_str()) selected[state == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            label { "text " input type="text" name="q" value=(value(&q.q)) size="20" placeholder="in args or errors"; }
            button type="submit" { "Filter" }
        }
    }
}

fn next_link(q: &ListQuery, next: i64) -> String {
    let mut link = String::from("/jobs?");
    for (name, value) in [
        ("queue", &q.queue),
        ("kind", &q.kind),
        ("state", &q.state),
        ("q", &q.q),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            link.push_str(&format!("{name}={}&", urlencode(v)));
        }
    }
    if let Some(limit) = q.limit {
        link.push_str(&format!("limit={limit}&"));
    }
    link.push_str(&format!("after={next}"));
    link
}

/// A table of jobs (also used by `/in-doubt`).
pub fn table(jobs: &[Job]) -> Markup {
    html! {
        @if jobs.is_empty() {
            p.muted { "No jobs." }
        } @else {
            table.jobs {
                tr {
                    th { "id" } th { "state" } th { "queue" } th { "kind" } th { "attempt" }
                    th { "effect" } th { "run at" } th { "last error" }
                }
                @for j in jobs {
                    tr data-job=(j.id) {
                        td { a href=(format!("/jobs/{}", j.id)) { (j.id) } }
                        td.doubt[j.state == JobState::InDoubt] { (j.state.as_str()) }
                        td { (j.queue) }
                        td { (j.kind) }
                        td.n { (j.attempt) "/" (j.max_attempts) }
                        td { (EffectPolicy::of_job(j.at_most_once, j.reconcilable).to_string()) }
                        td { (time(Some(j.run_at))) }
                        td { (j.errors.last().map(|e| truncate(&e.error, 120)).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}
