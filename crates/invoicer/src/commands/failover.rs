//! `invoicer chaos --failover`: the run on a primary and a streaming standby
//! started for it (the test kit's pair, from the machine's PostgreSQL
//! binaries). At evenly spaced points of the run the primary is killed with
//! -9 and the standby promoted; before each later failover a new standby is
//! built from the promoted server on the dead one's port. What each failover
//! cost is recorded: time to promote, to the next settled invoice, and until
//! every running server reported itself on the new primary.
//!
//! Invariant: the servers only ever get the URL naming both hosts; nothing
//! tells them where the primary went — they find it themselves.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use oncely_testkit::{ReplicatedPair, Replication};
use serde::Serialize;

/// How the standby acknowledges the primary's commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailoverMode {
    /// `synchronous_standby_names`: a promotion loses nothing acknowledged.
    Sync,
    /// Commits return before the standby has them: a promotion may lose the
    /// old primary's last commits.
    Async,
}

/// How long a failover may take to recover before it counts as failed.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(60);

/// What one failover cost.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverRecord {
    /// Replication mode of the pair.
    pub replication: FailoverMode,
    /// Invoices settled when the primary was killed.
    pub at_settled: i64,
    /// Kill -9 of the primary until the standby accepted writes (includes
    /// `pg_ctl promote`).
    pub promote_secs: f64,
    /// Kill until the next invoice settled on the new primary.
    pub first_progress_secs: Option<f64>,
    /// Kill until every server still running had reported itself on the new
    /// primary (its worker heartbeat written there).
    pub all_servers_secs: Option<f64>,
    /// Servers running at the kill.
    pub servers: usize,
    /// Servers that reported on the new primary when it counted as recovered.
    pub servers_reporting: usize,
    /// Settled invoices the database showed fewer right after the promotion
    /// than right before the kill (commits the standby never received).
    pub settled_rolled_back: i64,
}

/// A failover whose recovery is being watched.
struct Watching {
    /// Straight to the promoted server (the measure does not depend on how
    /// fast anyone's pool follows).
    conn: sqlx::PgConnection,
    killed: Instant,
    promoted_at: DateTime<Utc>,
    settled_before: i64,
    settled_after: Option<i64>,
    record: FailoverRecord,
}

/// The pair and the failovers planned and done.
pub struct Rig {
    pair: ReplicatedPair,
    db: String,
    mode: FailoverMode,
    planned: u32,
    /// The standby was promoted and no new one built yet.
    promoted: bool,
    watching: Option<Watching>,
    /// Failovers finished (recovered, or given up after [`RECOVERY_LIMIT`]).
    pub done: Vec<FailoverRecord>,
}

impl Rig {
    /// Starts the pair (blocks this worker thread while it does).
    pub fn start(mode: FailoverMode, planned: u32, db: &str) -> Result<Rig, String> {
        let replication = match mode {
            FailoverMode::Sync => Replication::Synchronous,
            FailoverMode::Async => Replication::Asynchronous,
        };
        let pair = tokio::task::block_in_place(|| ReplicatedPair::start(replication))
            .map_err(|e| format!("starting a primary and a standby: {e}"))?;
        Ok(Rig {
            pair,
            db: db.to_owned(),
            mode,
            planned: planned.max(1),
            promoted: false,
            watching: None,
            done: Vec::new(),
        })
    }

    /// URL of the administrative database on the primary (to create the run's database).
    pub fn admin_url(&self) -> String {
        self.pair.primary.url("postgres")
    }

    /// The URL the servers get: both hosts, the run's database.
    pub fn url(&self) -> String {
        self.pair.url(&self.db)
    }

    /// How many failovers were asked for.
    pub fn planned(&self) -> u32 {
        self.planned
    }

    /// Whether the next failover is due: failover k of n happens once
    /// k/(n+1) of the invoices are settled, one at a time.
    pub fn due(&self, settled: i64, invoices: u32) -> bool {
        let next = self.done.len() as u32 + u32::from(self.watching.is_some()) + 1;
        self.watching.is_none()
            && next <= self.planned
            && settled * i64::from(self.planned + 1) >= i64::from(invoices) * i64::from(next)
    }

    /// Kills the primary and promotes the standby (building a new standby
    /// first if an earlier failover used it up); `servers` are running.
    pub async fn fail_over(&mut self, settled: i64, servers: usize) -> Result<(), String> {
        if self.promoted {
            self.rebuild()?;
        }
        let killed = Instant::now();
        tokio::task::block_in_place(|| self.pair.fail_over())
            .map_err(|e| format!("failing over: {e}"))?;
        self.promoted = true;
        let promote_secs = killed.elapsed().as_secs_f64();
        let (conn, promoted_at) = connect_promoted(&self.pair.standby.url(&self.db)).await?;
        self.watching = Some(Watching {
            conn,
            killed,
            promoted_at,
            settled_before: settled,
            settled_after: None,
            record: FailoverRecord {
                replication: self.mode,
                at_settled: settled,
                promote_secs,
                first_progress_secs: None,
                all_servers_secs: None,
                servers,
                servers_reporting: 0,
                settled_rolled_back: 0,
            },
        });
        Ok(())
    }

    /// Watches the recovery of the last failover: `settled` as the monitor
    /// sees it now, `servers` running.
    pub async fn observe(&mut self, settled: i64, servers: usize) -> Result<(), String> {
        let Some(w) = self.watching.as_mut() else {
            return Ok(());
        };
        let recovered = w.measure(settled, servers).await;
        if recovered || w.killed.elapsed() > RECOVERY_LIMIT {
            if let Some(w) = self.watching.take() {
                self.done.push(w.record);
            }
            // The next failover needs a standby; built now, so that it
            // happens where it is due rather than a base backup later.
            if (self.done.len() as u32) < self.planned {
                self.rebuild()
            } else {
                Ok(())
            }
        } else {
            Ok(())
        }
    }

    fn rebuild(&mut self) -> Result<(), String> {
        tokio::task::block_in_place(|| self.pair.rebuild_standby())
            .map_err(|e| format!("building a new standby: {e}"))?;
        self.promoted = false;
        Ok(())
    }

    /// Ends the watch at the end of the run, `settled` as the monitor saw
    /// it last. The servers may have finished the work and exited between
    /// two observations: one last measure counts every server that reported
    /// on the new primary (a clean exit writes there too) against those
    /// running at the kill.
    pub async fn finish(&mut self, settled: i64) {
        if let Some(mut w) = self.watching.take() {
            let at_kill = w.record.servers;
            w.measure(settled, at_kill).await;
            self.done.push(w.record);
        }
    }
}

impl Watching {
    /// Records what the promoted server shows now; whether the failover
    /// counts as recovered (an invoice settled there, and `servers`
    /// reported there).
    async fn measure(&mut self, settled: i64, servers: usize) -> bool {
        let after = *self.settled_after.get_or_insert(settled);
        self.record.settled_rolled_back = (self.settled_before - after).max(0);
        if self.record.first_progress_secs.is_none() {
            let first: Result<Option<DateTime<Utc>>, _> = sqlx::query_scalar(include_str!(
                "../db/postgres/sql/failover_first_completion.sql"
            ))
            .bind(self.promoted_at)
            .fetch_one(&mut self.conn)
            .await;
            if let Ok(Some(first)) = first {
                let since_promotion = (first - self.promoted_at).to_std().unwrap_or_default();
                self.record.first_progress_secs =
                    Some(self.record.promote_secs + since_promotion.as_secs_f64());
            }
        }
        if self.record.all_servers_secs.is_none() {
            let here: Result<i64, _> = sqlx::query_scalar(include_str!(
                "../db/postgres/sql/failover_workers_reporting.sql"
            ))
            .bind(self.promoted_at)
            .fetch_one(&mut self.conn)
            .await;
            if let Ok(here) = here {
                self.record.servers_reporting = here.max(0) as usize;
                if self.record.servers_reporting >= servers {
                    self.record.all_servers_secs = Some(self.killed.elapsed().as_secs_f64());
                }
            }
        }
        self.record.first_progress_secs.is_some() && self.record.all_servers_secs.is_some()
    }
}
/// A connection to the promoted server at `url`, and its clock now.
async fn connect_promoted(url: &str) -> Result<(sqlx::PgConnection, DateTime<Utc>), String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("connecting to the promoted server: {e}"))?;
    let now = sqlx::query_scalar::<_, DateTime<Utc>>("SELECT now()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("asking the promoted server for its time: {e}"))?;
    Ok((conn, now))
}
