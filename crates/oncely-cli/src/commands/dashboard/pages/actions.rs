//! The pages' actions: form posts for retry, cancel, resolve, pause and
//! resume. Each needs a signed-in session and its CSRF value, goes through
//! the same library call as the CLI and the API (recorded with the session's
//! name and the reason given), then sends the browser back with a message.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use oncely::store::{Decision, Resolution};
use oncely::JobState;
use serde::Deserialize;

use super::layout::{problem, Viewer};
use super::overview::urlencode;
use crate::commands::dashboard::problem::Problem;
use crate::commands::dashboard::Console;

/// The fields of every action form.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "as")]
    resolution: String,
}

/// What a form asks for.
enum Asked {
    Retry(i64),
    Cancel(i64),
    Resolve(i64),
    Pause(String),
    Resume(String),
}

fn job(id: &str) -> Result<i64, Problem> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::bad_request("a job id is a positive integer"))
}

/// `POST /jobs/{id}/{action}`.
pub async fn on_job(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let asked = job(&id).and_then(|id| match action.as_str() {
        "retry" => Ok(Asked::Retry(id)),
        "cancel" => Ok(Asked::Cancel(id)),
        "resolve" => Ok(Asked::Resolve(id)),
        _ => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such action",
        )),
    });
    act(console, headers, asked, form).await
}

/// `POST /queues/{name}/{action}`.
pub async fn on_queue(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let asked = match action.as_str() {
        "pause" => Ok(Asked::Pause(name)),
        "resume" => Ok(Asked::Resume(name)),
        _ => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such action",
        )),
    };
    act(console, headers, asked, form).await
}

async fn act(
    console: Console,
    headers: HeaderMap,
    asked: Result<Asked, Problem>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    let result = async {
        if console.read_only {
            return Err(Problem::read_only());
        }
        let Ok(Form(form)) = form else {
            return Err(Problem::denied(
                super::super::auth::Denied::Missing,
                "CSRF value",
            ));
        };
        let session = console
            .auth
            .check_form(&headers, &form.csrf)
            .map_err(|d| Problem::denied(d, "session or CSRF value"))?;
        let asked = asked?;
        let back = local_path(&form.back);
        let reason = |default: &str| {
            let given = form.reason.trim();
            Decision::new(
                &session.actor,
                if given.is_empty() { default } else { given },
            )
            .map_err(|e| Problem::from(oncely::Error::from(e)))
        };
        let store = &console.store;
        let message = match asked {
            Asked::Retry(id) => {
                let j = store
                    .job_retry_now(id, &reason("retried from the console")?)
                    .await?;
                format!("job {} is {}", j.id, j.state)
            }
            Asked::Cancel(id) => {
                let j = store
                    .job_cancel(id, &reason("cancelled from the console")?)
                    .await?;
                if j.state == JobState::Running {
                    format!("job {} is running: cancel requested; it is cancelled once its attempt has stopped", j.id)
                } else {
                    format!("job {} is {}", j.id, j.state)
                }
            }
            Asked::Resolve(id) => {
                let resolution = Resolution::parse(&form.resolution)
                    .map_err(|e| Problem::from(oncely::Error::from(e)))?;
                if form.reason.trim().is_empty() {
                    return Err(Problem::bad_request("say why you decide so (reason)"));
                }
                let by = reason("")?;
                let j = store.job_resolve(id, resolution, &by).await?;
                format!("job {} is {} ({})", j.id, j.state, resolution.note(&by))
            }
            Asked::Pause(name) => {
                store
                    .queue_pause(&name, &reason("paused from the console")?)
                    .await?;
                format!("queue {name} is paused")
            }
            Asked::Resume(name) => {
                store
                    .queue_resume(&name, &reason("resumed from the console")?)
                    .await?;
                format!("queue {name} runs again")
            }
        };
        Ok((back, message))
    };
    match result.await {
        Ok((back, message)) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            let location = format!("{back}{sep}msg={}", urlencode(&message));
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        Err(p) => (p.status, Html(problem(&viewer, &p.message).into_string())).into_response(),
    }
}

/// `back` when it is a path on this console, else `/`.
fn local_path(back: &str) -> String {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && back.chars().all(|c| !c.is_control());
    if ok {
        back.to_owned()
    } else {
        "/".into()
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/jobs/7"), "/jobs/7");
        assert_eq!(local_path("//evil.example/x"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil"), "/");
        assert_eq!(local_path(""), "/");
    }
}
