//! The post's two strategies, kept for contrast with oncely:
//!
//! - `naive`: every server reads the pending invoices and bills each one;
//! - `nowait`: lock the invoice row with `SELECT ... FOR UPDATE NOWAIT` and
//!   hold the transaction open across the billing call (PostgreSQL only).
//!
//! Both are deliberately what the post describes; neither is used by `oncely`.

use serde::Serialize;

use crate::billing::BillingClient;
use crate::db::{DbError, InvoiceDb};

/// What one server did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StrategyReport {
    /// Charges this server made.
    pub billed: u64,
    /// Errors it saw (lock conflicts, provider failures).
    pub errors: u64,
    /// Its writes that were rejected because a newer attempt held the job (oncely only).
    pub fenced: u64,
    /// Send attempts it left in doubt (oncely without provider idempotency).
    pub in_doubt: u64,
    /// Attempts it stopped itself because their lease could have ended
    /// (e.g. it was paused past the lease: a zombie that woke up) (oncely only).
    pub stopped_at_deadline: u64,
}

/// The post's starting point.
pub async fn naive(
    db: &InvoiceDb,
    billing: &BillingClient,
    days: i32,
) -> Result<StrategyReport, DbError> {
    let mut report = StrategyReport::default();
    for id in db.naive_pending(days).await? {
        let Some(invoice) = db.get(id).await? else {
            continue;
        };
        match billing.charge(&invoice, None).await {
            Ok(charge) => {
                db.naive_mark_sent(id, &charge.id).await?;
                report.billed += 1;
            }
            Err(error) => {
                tracing::warn!(invoice = id, %error, "charge failed");
                report.errors += 1;
            }
        }
    }
    Ok(report)
}

/// The post's fix: `FOR UPDATE NOWAIT` held across the call.
pub async fn nowait(
    db: &InvoiceDb,
    billing: &BillingClient,
    days: i32,
) -> Result<StrategyReport, DbError> {
    let pool = db.postgres_pool()?;
    let mut report = StrategyReport::default();
    for id in db.naive_pending(days).await? {
        let mut tx = pool.begin().await?;
        let locked = sqlx::query_scalar::<_, i64>(include_str!("db/postgres/sql/nowait_lock.sql"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await;
        match locked {
            Ok(Some(_)) => {}
            Ok(None) => continue, // Sent by another server meanwhile.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                tracing::warn!(
                    invoice = id,
                    "could not obtain lock on row (55P03 lock_not_available)"
                );
                report.errors += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let Some(invoice) = db.get(id).await? else {
            continue;
        };
        match billing.charge(&invoice, None).await {
            Ok(charge) => {
                sqlx::query(include_str!("db/postgres/sql/naive_mark_sent.sql"))
                    .bind(id)
                    .bind(&charge.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                report.billed += 1;
            }
            Err(error) => {
                tracing::warn!(invoice = id, %error, "charge failed");
                report.errors += 1;
            }
        }
    }
    Ok(report)
}
