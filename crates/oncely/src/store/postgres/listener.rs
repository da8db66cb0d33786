//! LISTEN/NOTIFY wake-ups: the `oncely_jobs` channel carries the queue name
//! of each job that became available, `oncely_leader` a resignation, and
//! `oncely_cancel` the id of a running job an operator cancelled.
//!
//! A lost notification (a dropped connection, a listener not yet started) is
//! harmless: workers also poll, so it delays a job by at most one poll interval.

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::error::Result;

/// The channel that carries a queue name when jobs became available there
/// (announced by the inserting driver, or by the state trigger).
pub const CHANNEL: &str = "oncely_jobs";

/// The channel a leader's resignation notifies.
pub const LEADER_CHANNEL: &str = "oncely_leader";

/// The channel that carries the id of a running job an operator cancelled.
pub const CANCEL_CHANNEL: &str = "oncely_cancel";

/// A connection listening on [`CHANNEL`].
#[derive(Debug)]
pub struct PgJobListener {
    listener: PgListener,
}

impl PgJobListener {
    /// Opens a dedicated connection and starts listening.
    pub async fn connect(pool: &PgPool) -> Result<Self> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener
            .listen_all([CHANNEL, LEADER_CHANNEL, CANCEL_CHANNEL])
            .await?;
        Ok(PgJobListener { listener })
    }

    /// Listens over a connection of its own to `options` (PostgreSQL itself,
    /// when the pool goes through a transaction pooler that cannot keep a
    /// LISTEN); it reconnects there after an error.
    pub async fn connect_direct(options: &sqlx::postgres::PgConnectOptions) -> Result<Self> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        Self::connect(&pool).await
    }
}

#[async_trait]
impl crate::store::JobListener for PgJobListener {
    async fn recv(&mut self) -> Result<crate::store::Wakeup> {
        loop {
            let notification = self.listener.recv().await?;
            return Ok(match notification.channel() {
                LEADER_CHANNEL => crate::store::Wakeup::LeaderResigned,
                CANCEL_CHANNEL => match notification.payload().parse() {
                    Ok(id) => crate::store::Wakeup::CancelRequested(id),
                    Err(_) => {
                        tracing::warn!(
                            payload = notification.payload(),
                            "ignoring a malformed cancel notification"
                        );
                        continue;
                    }
                },
                _ => crate::store::Wakeup::Queue(notification.payload().to_owned()),
            });
        }
    }
}
