//! Several PostgreSQL hosts behind one URL, libpq style
//! (`postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write`):
//! oncely writes only to the one that accepts writes, and after a failover
//! points its pool at the new primary.
//!
//! Invariants: a pooled connection is opened only to a server that is not in
//! recovery (checked right after connecting); after a switch, every
//! connection opened before it is discarded at its next acquire, so nothing
//! keeps writing to (or waiting on) the old primary; the switch itself only
//! changes where new connections go.

use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::time::Instant;

use crate::error::{Error, Result};

/// How long one probe of a host may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the pool may take to answer whether it still reaches the
/// primary before the hosts are probed (a pool whose server died retries its
/// connection quietly; a slow but live primary only costs a probe round).
pub const POOL_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Splits a URL with a host list into one URL per host (the rest kept), and
/// checks `target_session_attrs` (only `read-write`, the default here, makes
/// sense for a job system: every verb writes).
pub fn split(url: &str) -> Result<Vec<String>> {
    let bad = |reason: &str| Error::BadUrl {
        url: redact(url),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected postgres://…"))?;
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let mut kept = Vec::new();
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("target_session_attrs", "read-write")) => {}
            Some(("target_session_attrs", other)) => {
                return Err(bad(&format!(
                "target_session_attrs={other}: oncely writes on every connection; use read-write"
            )))
            }
            _ => kept.push(pair),
        }
    }
    let hosts: Vec<&str> = hostlist.split(',').collect();
    if hosts.iter().any(|h| h.is_empty()) {
        return Err(bad("an empty host in the host list"));
    }
    Ok(hosts
        .iter()
        .map(|host| {
            let mut one = format!("{scheme}://");
            if let Some(u) = userinfo {
                one.push_str(u);
                one.push('@');
            }
            one.push_str(host);
            one.push_str(path);
            if !kept.is_empty() {
                one.push('?');
                one.push_str(&kept.join("&"));
            }
            one
        })
        .collect())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `host:port` of one candidate.
pub fn address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

/// True when the connected server is in recovery (a standby).
pub async fn in_recovery(conn: &mut PgConnection) -> std::result::Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(conn)
        .await
}

/// Probes one host: `Ok(())` when it answers and accepts writes.
pub async fn probe(options: &PgConnectOptions) -> std::result::Result<(), String> {
    let attempt = async {
        let mut conn = options.connect().await.map_err(|e| e.to_string())?;
        let recovering = in_recovery(&mut conn).await.map_err(|e| e.to_string())?;
        let _ = conn.close().await;
        if recovering {
            Err("in recovery (a standby)".to_owned())
        } else {
            Ok(())
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

/// The candidates and which one the pool writes to.
#[derive(Debug)]
pub struct Hosts {
    /// One per host, in the URL's order.
    pub candidates: Vec<PgConnectOptions>,
    state: Mutex<Current>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    index: usize,
    switched_at: Instant,
}

impl Hosts {
    /// `candidates`, writing to `index` from now.
    pub fn new(candidates: Vec<PgConnectOptions>, index: usize) -> Self {
        Hosts {
            candidates,
            state: Mutex::new(Current {
                index,
                switched_at: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // Each update is one assignment: a poisoned lock holds a whole value.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The host written to now.
    pub fn current(&self) -> usize {
        self.lock().index
    }

    /// How long ago the pool last switched hosts.
    pub fn since_switch(&self) -> Duration {
        self.lock().switched_at.elapsed()
    }

    /// Records a switch to `index`.
    pub fn switch_to(&self, index: usize) {
        *self.lock() = Current {
            index,
            switched_at: Instant::now(),
        };
    }

    /// Probes every host, the current one first; the index of the first
    /// that accepts writes, or why none does.
    pub async fn find_primary(&self) -> std::result::Result<usize, String> {
        let current = self.current();
        let order =
            std::iter::once(current).chain((0..self.candidates.len()).filter(|i| *i != current));
        let mut why = Vec::new();
        for i in order {
            match probe(&self.candidates[i]).await {
                Ok(()) => return Ok(i),
                Err(e) => why.push(format!("{}: {e}", address(&self.candidates[i]))),
            }
        }
        Err(why.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_split_into_one_url_per_host() {
        assert_eq!(
            split("postgres://u:p@h1:5432,h2:5433/app?target_session_attrs=read-write&sslmode=disable")
                .expect("split"),
            vec![
                "postgres://u:p@h1:5432/app?sslmode=disable".to_owned(),
                "postgres://u:p@h2:5433/app?sslmode=disable".to_owned(),
            ]
        );
        assert_eq!(
            split("postgresql://h/db").expect("one"),
            vec!["postgresql://h/db".to_owned()]
        );
        assert_eq!(
            split("postgres://a,b").expect("no path"),
            vec!["postgres://a".to_owned(), "postgres://b".to_owned()]
        );
        assert!(split("postgres://a,,b/db").is_err());
        assert!(split("postgres://a,b/db?target_session_attrs=any").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
