//! LISTEN/NOTIFY wake-ups: the `oncely_jobs` channel carries the queue name
//! of each job that became available.
//!
//! A lost notification (a dropped connection, a listener not yet started) is
//! harmless: workers also poll, so it delays a job by at most one poll interval.

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::error::Result;

/// The channel the schema's trigger notifies.
pub const CHANNEL: &str = "oncely_jobs";

/// A connection listening on [`CHANNEL`].
#[derive(Debug)]
pub struct PgJobListener {
    listener: PgListener,
}

impl PgJobListener {
    /// Opens a dedicated connection and starts listening.
    pub async fn connect(pool: &PgPool) -> Result<Self> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(PgJobListener { listener })
    }
}

#[async_trait]
impl crate::store::JobListener for PgJobListener {
    async fn recv(&mut self) -> Result<String> {
        let notification = self.listener.recv().await?;
        Ok(notification.payload().to_owned())
    }
}
