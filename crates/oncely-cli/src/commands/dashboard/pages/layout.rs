//! The frame of every page: navigation, who is logged in, flash messages,
//! the embedded stylesheet and script. Everything shown passes through maud,
//! which escapes it.

use axum::http::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup, DOCTYPE};

use crate::commands::dashboard::auth::SessionView;
use crate::commands::dashboard::Console;

/// Who is looking, and what they may do.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The browser's session, when logged in.
    pub session: Option<SessionView>,
    /// The console serves no actions.
    pub read_only: bool,
}

impl Viewer {
    /// The viewer of a request.
    pub fn of(console: &Console, headers: &HeaderMap) -> Self {
        Viewer {
            session: console.auth.session(headers),
            read_only: console.read_only,
        }
    }

    /// The CSRF value for forms, when this viewer may act.
    pub fn may_act(&self) -> Option<&str> {
        if self.read_only {
            return None;
        }
        self.session.as_ref().map(|s| s.csrf.as_str())
    }
}

const NAV: [(&str, &str); 5] = [
    ("/", "Overview"),
    ("/jobs", "Jobs"),
    ("/in-doubt", "In doubt"),
    ("/queues", "Queues"),
    ("/schedules", "Schedules"),
];

/// A whole page. `here` is the nav entry to highlight; `flash` a message from
/// the last action (shown as text).
pub fn page(title: &str, here: &str, viewer: &Viewer, flash: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · oncely" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                header {
                    strong { "oncely" }
                    @for (href, name) in NAV {
                        a href=(href) class=[(href == here).then_some("here")] { (name) }
                    }
                    span.who {
                        @if viewer.read_only {
                            "read-only"
                        } @else if let Some(s) = &viewer.session {
                            "signed in as " (s.actor) " "
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "Sign out" }
                            }
                        } @else {
                            a href="/login" { "Sign in to act" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(message) = flash {
                        p.flash id="flash" { (message) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A timestamp as shown everywhere (UTC, seconds).
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

/// A page that says what went wrong.
pub fn problem(viewer: &Viewer, message: &str) -> Markup {
    page(
        "Something went wrong",
        "",
        viewer,
        None,
        html! { p.problem id="problem" { (message) } },
    )
}
