//! `/login` and `/logout`: a browser signs in with the console's token and a
//! name (recorded with its actions) and gets a session cookie.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::layout::{page, Viewer};
use crate::commands::dashboard::auth::{session_clear_cookie, session_set_cookie};
use crate::commands::dashboard::Console;

/// The sign-in form.
pub async fn form(State(console): State<Console>, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&console, &headers);
    Html(login_page(&viewer, None).into_string()).into_response()
}

fn login_page(viewer: &Viewer, problem: Option<&str>) -> maud::Markup {
    let body = html! {
        @if viewer.read_only {
            p { "This console is read-only: there is nothing to sign in for." }
        } @else {
            @if let Some(p) = problem { p.problem id="problem" { (p) } }
            p { "The token was printed when the console started (or set with --token / ONCELY_DASHBOARD_TOKEN)." }
            form #login method="post" action="/login" {
                p { label { "Your name (recorded with your actions) " input type="text" name="name" required size="24"; } }
                p { label { "Token " input type="password" name="token" required size="40"; } }
                button type="submit" { "Sign in" }
            }
        }
    };
    page("Sign in", "", viewer, None, body)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct Login {
    name: String,
    token: String,
}

/// Opens a session, or says the token is wrong.
pub async fn submit(
    State(console): State<Console>,
    headers: HeaderMap,
    form: Result<Form<Login>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = Viewer::of(&console, &headers);
    if console.read_only {
        return (
            StatusCode::FORBIDDEN,
            Html(login_page(&viewer, None).into_string()),
        )
            .into_response();
    }
    let Ok(Form(login)) = form else {
        let page = login_page(&viewer, Some("give a name and the token"));
        return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
    };
    let name = login.name.trim();
    if name.is_empty()
        || name.chars().count() > oncely::store::MAX_ACTOR_CHARS
        || name.contains('\0')
    {
        let page = login_page(&viewer, Some("give your name (1 to 200 characters)"));
        return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
    }
    match console.auth.login(&login.token, name) {
        Ok(session) => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, session_set_cookie(&session)),
                (header::LOCATION, "/".to_owned()),
            ],
        )
            .into_response(),
        Err(_) => {
            tracing::warn!("console sign-in with a wrong token");
            let page = login_page(&viewer, Some("wrong token"));
            (StatusCode::FORBIDDEN, Html(page.into_string())).into_response()
        }
    }
}

/// The sign-out form's fields.
#[derive(Debug, Deserialize)]
pub struct Logout {
    csrf: String,
}

/// Ends the session (only with its CSRF value: a forged sign-out does nothing).
pub async fn logout(
    State(console): State<Console>,
    headers: HeaderMap,
    form: Result<Form<Logout>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Ok(Form(f)) = form {
        if console.auth.check_form(&headers, &f.csrf).is_ok() {
            console.auth.logout(&headers);
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, session_clear_cookie()),
            (header::LOCATION, "/".to_owned()),
        ],
    )
        .into_response()
}
