//! `/`: queues with counts by state (paused ones marked), the last hour's
//! throughput and failures, the leader and its term, schedules due next,
//! the in-doubt count. Counts and chart refresh live.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use oncely::JobState;

use super::layout::{page, problem, time, Viewer};
use super::{chart, urlencode, Flash};
use crate::commands::dashboard::snapshot::{self, Overview};
use crate::commands::dashboard::Console;

/// Schedules shown as due next.
const NEXT_SCHEDULES: usize = 10;

/// The page.
pub async fn get(State(console): State<Console>, headers: HeaderMap, flash: Flash) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let read = async {
        let overview = snapshot::overview(&console.store).await?;
        let throughput = console.throughput(chart::MINUTES).await?;
        Ok::<_, oncely::Error>((overview, throughput))
    };
    match read.await {
        Ok((o, t)) => {
            let body = html! {
                section #counts data-live { (counts(&o)) }
                h2 { "Throughput" }
                section #chart data-live { (chart::render(o.now, &t)) }
                section #leader data-live { (leader(&o)) }
                h2 { "Workers seen in the last 5 minutes" }
                section #workers data-live { (workers(&o)) }
                h2 { "Schedules due next" }
                section #next-schedules data-live { (next_schedules(&o)) }
            };
            Html(page("Overview", "/", &viewer, flash.message(), body).into_string())
                .into_response()
        }
        Err(e) => Html(problem(&viewer, &e.to_string()).into_string()).into_response(),
    }
}

/// The counts table (also on `/queues`).
pub fn counts(o: &Overview) -> Markup {
    let in_doubt: i64 = o
        .counts
        .values()
        .filter_map(|s| s.get(JobState::InDoubt.as_str()))
        .sum();
    let paused = |q: &str| o.queue_states.iter().any(|s| s.name == q && s.paused());
    html! {
        p {
            "Database time " (time(Some(o.now))) ". "
            @if in_doubt > 0 {
                a.doubt href="/in-doubt" id="in-doubt-count" { (in_doubt) " in doubt: waiting for a decision" }
            } @else {
                span id="in-doubt-count" { "0 in doubt" }
            }
        }
        table #queues {
            tr {
                th { "queue" }
                @for state in JobState::ALL { th { (state.as_str()) } }
            }
            @for (queue, states) in &o.counts {
                tr data-queue=(queue) {
                    td {
                        a href=(format!("/jobs?queue={}", urlencode(queue))) { (queue) }
                        @if paused(queue) { " " span.paused { "paused" } }
                    }
                    @for state in JobState::ALL {
                        @let n = states.get(state.as_str()).copied().unwrap_or(0);
                        td.n.doubt[state == JobState::InDoubt && n > 0] data-state=(state.as_str()) { (n) }
                    }
                }
            }
        }
    }
}

fn leader(o: &Overview) -> Markup {
    html! {
        h2 { "Leader" }
        p {
            @match &o.leader {
                Some(l) if o.leader_live => {
                    (l.leader_id) " — term " (l.term) ", elected " (time(Some(l.elected_at)))
                    ", lease until " (time(Some(l.expires_at)))
                }
                Some(l) => { "none live (last: " (l.leader_id) ", term " (l.term) ")" }
                None => { "none" }
            }
        }
    }
}

fn workers(o: &Overview) -> Markup {
    html! {
        @if o.workers.is_empty() {
            p.muted { "None." }
        } @else {
            table #workers-table {
                tr { th { "worker" } th { "queues" } th { "started" } th { "last heartbeat" } th { "state" } }
                @for w in &o.workers {
                    tr data-worker=(w.id) {
                        td { (w.id) }
                        td { (w.queues) }
                        td { (time(Some(w.started_at))) }
                        td { (time(Some(w.last_seen_at))) }
                        td { @if w.stopped_at.is_some() { "stopped" } @else { "running" } }
                    }
                }
            }
        }
    }
}

fn next_schedules(o: &Overview) -> Markup {
    let mut due: Vec<_> = o
        .schedules
        .iter()
        .map(|r| (r.schedule.spec.next_after(o.now).ok().flatten(), r))
        .collect();
    due.sort_by_key(|(next, r)| (next.is_none(), *next, r.schedule.name.clone()));
    html! {
        table {
            tr { th { "schedule" } th { "next period" } th { "queue" } th { "last fired" } }
            @for (next, r) in due.iter().take(NEXT_SCHEDULES) {
                tr { td { (r.schedule.name) } td { (time(*next)) } td { (r.schedule.queue) } td { (time(r.last_period)) } }
            }
        }
        @if !o.broken_schedules.is_empty() {
            p.problem { (o.broken_schedules.len()) " broken schedule(s): see " a href="/schedules" { "Schedules" } }
        }
    }
}
