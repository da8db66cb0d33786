//! The pages' actions: form posts for retry, cancel, resolve, pause and
//! resume. Each needs a signed-in session and its CSRF value, then runs the
//! same [`Action`] as the API (recorded with the session's name and the
//! reason given) and sends the browser back with its message.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::layout::{problem, Viewer};
use super::urlencode;
use crate::commands::dashboard::action::Action;
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

/// `POST /jobs/{id}/{action}`.
pub async fn on_job(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((id, verb)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let resolution = form.as_ref().ok().map(|f| f.resolution.clone());
    let asked = Action::on_job(&id, &verb, resolution.as_deref());
    act(console, headers, asked, form).await
}

/// `POST /queues/{name}/{action}`.
pub async fn on_queue(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((name, verb)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    act(console, headers, Action::on_queue(&name, &verb), form).await
}

async fn act(
    console: Console,
    headers: HeaderMap,
    asked: Result<Action, Problem>,
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
        let outcome = asked?
            .perform(
                &console.store,
                &session.actor,
                Some(&form.reason),
                "the console",
            )
            .await?;
        Ok((local_path(&form.back), outcome.message))
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
