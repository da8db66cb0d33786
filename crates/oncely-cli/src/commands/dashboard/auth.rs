//! Who may act through the console: one secret token for the API
//! (`Authorization: Bearer TOKEN`) and browser sessions opened with it.
//!
//! Invariants: tokens and CSRF values are compared in constant time; a
//! session lives only in this process (a restart logs everyone out), carries
//! its own CSRF value and is sent back only in an `HttpOnly`,
//! `SameSite=Strict` cookie; at most [`MAX_SESSIONS`] live at once (the
//! oldest is dropped first) and each ends after [`SESSION_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Shortest token accepted from `--token`.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Browser sessions kept at once.
pub const MAX_SESSIONS: usize = 1000;
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The session cookie's name.
pub const COOKIE: &str = "oncely_session";

/// Why a request may not act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No credentials at all (API: 401).
    Missing,
    /// Credentials that do not match (API: 403).
    Wrong,
}

/// One logged-in browser.
#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    actor: String,
    started: Instant,
}

/// A live browser session as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The value its forms must carry.
    pub csrf: String,
    /// Who logged in (recorded with their actions).
    pub actor: String,
}

/// The token and the open sessions.
#[derive(Debug)]
pub struct Auth {
    token: String,
    sessions: Mutex<HashMap<String, Session>>,
}

/// A fresh random value: 244 bits from the operating system's generator.
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Compares two secrets without leaking where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Guards the console with `token`.
    pub fn new(token: String) -> Self {
        Auth {
            token,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Checks an API request's `Authorization: Bearer` header.
    pub fn check_bearer(&self, headers: &HeaderMap) -> Result<(), Denied> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(Denied::Missing);
        };
        let value = value.to_str().map_err(|_| Denied::Wrong)?;
        let Some(given) = value.strip_prefix("Bearer ") else {
            return Err(Denied::Wrong);
        };
        if same_secret(given.trim(), &self.token) {
            Ok(())
        } else {
            Err(Denied::Wrong)
        }
    }

    /// Opens a session for `actor`, a browser that gave the right token;
    /// returns the session id (the cookie's value).
    pub fn login(&self, given: &str, actor: &str) -> Result<String, Denied> {
        if !same_secret(given.trim(), &self.token) {
            return Err(Denied::Wrong);
        }
        let id = random_secret();
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.started.elapsed() < SESSION_TTL);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.started)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: random_secret(),
                actor: actor.to_owned(),
                started: Instant::now(),
            },
        );
        Ok(id)
    }

    /// Ends the session of this request, if any.
    pub fn logout(&self, headers: &HeaderMap) {
        if let Some(id) = session_cookie(headers) {
            self.lock().remove(&id);
        }
    }

    /// This request's live session (None: not logged in).
    pub fn session(&self, headers: &HeaderMap) -> Option<SessionView> {
        let id = session_cookie(headers)?;
        let sessions = self.lock();
        sessions
            .get(&id)
            .filter(|s| s.started.elapsed() < SESSION_TTL)
            .map(|s| SessionView {
                csrf: s.csrf.clone(),
                actor: s.actor.clone(),
            })
    }

    /// Checks a form post: a live session and the CSRF value it was given.
    pub fn check_form(&self, headers: &HeaderMap, csrf: &str) -> Result<SessionView, Denied> {
        match self.session(headers) {
            None => Err(Denied::Missing),
            Some(s) if same_secret(csrf, &s.csrf) => Ok(s),
            Some(_) => Err(Denied::Wrong),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding this lock cannot leave the map half-changed
        // (each operation is one map call), so a poisoned lock is still usable.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `Set-Cookie` value that opens a session.
pub fn session_set_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn session_clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn bearer_tokens_are_checked() {
        let auth = Auth::new("s3cret-token-0123456789".into());
        assert_eq!(auth.check_bearer(&HeaderMap::new()), Err(Denied::Missing));
        let auth_header = axum::http::header::AUTHORIZATION;
        assert_eq!(
            auth.check_bearer(&with(auth_header.clone(), "Bearer nope")),
            Err(Denied::Wrong)
        );
        assert_eq!(
            auth.check_bearer(&with(auth_header.clone(), "Basic s3cret-token-0123456789")),
            Err(Denied::Wrong)
        );
        assert_eq!(
            auth.check_bearer(&with(auth_header, "Bearer s3cret-token-0123456789")),
            Ok(())
        );
    }

    #[test]
    fn sessions_carry_their_own_csrf_value() {
        let auth = Auth::new("s3cret-token-0123456789".into());
        assert_eq!(auth.login("wrong", "eve"), Err(Denied::Wrong));
        let id = auth
            .login("s3cret-token-0123456789", "alice")
            .expect("login");
        let headers = with(axum::http::header::COOKIE, &format!("a=b; {COOKIE}={id}"));
        let session = auth.session(&headers).expect("session");
        assert_eq!(session.actor, "alice");
        let csrf = session.csrf.clone();
        assert_eq!(auth.check_form(&headers, &csrf), Ok(session));
        assert_eq!(auth.check_form(&headers, "forged"), Err(Denied::Wrong));
        assert_eq!(
            auth.check_form(&HeaderMap::new(), &csrf),
            Err(Denied::Missing)
        );
        let other = auth.login("s3cret-token-0123456789", "bob").expect("login");
        let other_headers = with(axum::http::header::COOKIE, &format!("{COOKIE}={other}"));
        assert_eq!(auth.check_form(&other_headers, &csrf), Err(Denied::Wrong));
        auth.logout(&headers);
        assert_eq!(auth.check_form(&headers, &csrf), Err(Denied::Missing));
    }

    #[test]
    fn secrets_are_random_and_compared_whole() {
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_secret().len(), 64);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
