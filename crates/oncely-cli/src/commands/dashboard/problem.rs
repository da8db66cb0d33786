//! Errors of the console as HTTP answers: a status that says what happened
//! and a JSON body `{"error": CODE, "message": TEXT}` for the API (pages show
//! the same message in HTML).
//!
//! Mapping: unknown job 404; a state that does not allow the action 409; bad
//! input 400; no token 401; wrong token or CSRF value 403; read-only console
//! 403; body too large 413; the database unreachable 503.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::Denied;

/// An answer that is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl Problem {
    /// A problem with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 403: this console serves no actions.
    pub fn read_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "this console is read-only (started with --read-only)",
        )
    }

    /// 401 or 403 for missing or wrong credentials.
    pub fn denied(denied: Denied, what: &str) -> Self {
        match denied {
            Denied::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("{what} required"),
            ),
            Denied::Wrong => Self::new(StatusCode::FORBIDDEN, "forbidden", format!("wrong {what}")),
        }
    }
}

impl From<oncely::Error> for Problem {
    fn from(error: oncely::Error) -> Self {
        use oncely::Error as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            E::InvalidTransition { .. } => Self::new(StatusCode::CONFLICT, "conflict", message),
            E::Invalid(_) => Self::bad_request(message),
            _ => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("cannot reach the database: {message}"),
            ),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}
