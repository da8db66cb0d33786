//! The console's pages: server-rendered HTML (maud escapes every value), one
//! small embedded stylesheet and script (live refresh of `data-live`
//! sections), form posts for actions. No CDN, nothing fetched from elsewhere.

mod actions;
mod chart;
mod job;
mod jobs;
mod layout;
mod lists;
mod login;
mod overview;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use super::Console;

const CSS: &str = include_str!("../../../../assets/console.css");
const JS: &str = include_str!("../../../../assets/console.js");

/// The page routes (state: the console).
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/", get(overview::get))
        .route("/jobs", get(jobs::get))
        .route("/jobs/{id}", get(job::get))
        .route("/jobs/{id}/{action}", post(actions::on_job))
        .route("/queues/{name}/{action}", post(actions::on_queue))
        .route("/in-doubt", get(lists::in_doubt))
        .route("/queues", get(lists::queues))
        .route("/schedules", get(lists::schedules))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
}

/// The message an action sent the browser back with (`?msg=`), shown as text.
#[derive(Debug, Default)]
pub struct Flash(Option<String>);

impl Flash {
    /// The message, if any.
    pub fn message(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let message = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == "msg")
                .map(|(_, value)| percent_decode(value))
        });
        Ok(Flash(message.filter(|m| !m.is_empty()).map(|m| {
            m.chars().filter(|c| !c.is_control()).take(500).collect()
        })))
    }
}

/// Decodes `%XX` and `+` of a query value (invalid sequences kept as text).
fn percent_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Encodes a value for a query string or a path segment.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn query_values_decode() {
        assert_eq!(percent_decode("job+7%20is%20%3Cb%3E"), "job 7 is <b>");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%+1"), "% 1");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
