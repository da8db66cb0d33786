//! The invoices table on PostgreSQL.

use oncely::store::postgres::pooled::In;
use oncely::store::Fence;
use sqlx::Row;

use super::{DbError, Fenced, PgDb};
use crate::invoice::{Invoice, NewInvoice};

fn fenced(row: Option<impl Sized>) -> Fenced {
    if row.is_some() {
        Fenced::Done
    } else {
        Fenced::Refused
    }
}

pub(super) async fn insert(pg: &PgDb, invoices: &[NewInvoice]) -> Result<Vec<i64>, DbError> {
    let mut tx = pg.pool.begin().await?;
    let mut ids = Vec::with_capacity(invoices.len());
    for inv in invoices {
        let id: i64 = sqlx::query_scalar(include_str!("sql/invoice_insert.sql"))
            .bind(&inv.customer_id)
            .bind(inv.amount_cents)
            .bind(&inv.currency)
            .bind(inv.due_in_days)
            .fetch_one(In(&mut tx, pg.mode))
            .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

pub(super) async fn get(pg: &PgDb, id: i64) -> Result<Option<Invoice>, DbError> {
    let row = sqlx::query(include_str!("sql/invoice_get.sql"))
        .bind(id)
        .fetch_optional(pg.on())
        .await?;
    row.map(|r: sqlx::postgres::PgRow| -> Result<Invoice, DbError> {
        Ok(Invoice {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            amount_cents: r.try_get("amount_cents")?,
            currency: r.try_get("currency")?,
            due_date: r.try_get("due_date")?,
            status: r
                .try_get::<String, _>("status")?
                .parse()
                .map_err(DbError::Corrupt)?,
            provider_charge_id: r.try_get("provider_charge_id")?,
            failure_reason: r.try_get("failure_reason")?,
            fence: r.try_get("fence")?,
        })
    })
    .transpose()
}

pub(super) async fn ids(pg: &PgDb, sql: &'static str, days: i32) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(sql)
        .bind(days)
        .fetch_all(pg.on())
        .await?)
}

pub(super) async fn mark_sending(pg: &PgDb, id: i64, token: i64) -> Result<Fenced, DbError> {
    let mut tx = pg.pool.begin().await?;
    let row = sqlx::query(include_str!("sql/invoice_mark_sending.sql"))
        .bind(id)
        .bind(token)
        .fetch_optional(In(&mut tx, pg.mode))
        .await?;
    tx.commit().await?;
    Ok(fenced(row))
}

pub(super) async fn mark_sent_and_complete(
    pg: &PgDb,
    id: i64,
    charge_id: &str,
    fence: Fence,
) -> Result<Fenced, DbError> {
    let mut tx = pg.pool.begin().await?;
    let row = sqlx::query(include_str!("sql/invoice_mark_sent.sql"))
        .bind(id)
        .bind(fence.fence)
        .bind(charge_id)
        .fetch_optional(In(&mut tx, pg.mode))
        .await?;
    if row.is_none() {
        tx.rollback().await?;
        return Ok(Fenced::Refused);
    }
    match oncely::store::postgres::complete_tx(&mut tx, fence).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Fenced::Done)
        }
        Err(oncely::Error::LeaseLost(_)) => {
            tx.rollback().await?;
            Ok(Fenced::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn mark_failed(
    pg: &PgDb,
    id: i64,
    token: i64,
    reason: &str,
) -> Result<Fenced, DbError> {
    let mut tx = pg.pool.begin().await?;
    let row = sqlx::query(include_str!("sql/invoice_mark_failed.sql"))
        .bind(id)
        .bind(token)
        .bind(reason)
        .fetch_optional(In(&mut tx, pg.mode))
        .await?;
    tx.commit().await?;
    Ok(fenced(row))
}

pub(super) async fn status_counts(pg: &PgDb) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sqlx::query(include_str!("sql/invoice_status_counts.sql"))
        .fetch_all(pg.on())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

pub(super) async fn all(pg: &PgDb) -> Result<Vec<(i64, String, Option<String>)>, DbError> {
    let rows = sqlx::query(include_str!("sql/invoices_all.sql"))
        .fetch_all(pg.on())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("status")?,
                r.try_get("provider_charge_id")?,
            ))
        })
        .collect()
}

pub(super) async fn naive_mark_sent(pg: &PgDb, id: i64, charge_id: &str) -> Result<(), DbError> {
    let mut tx = pg.pool.begin().await?;
    sqlx::query(include_str!("sql/naive_mark_sent.sql"))
        .bind(id)
        .bind(charge_id)
        .execute(In(&mut tx, pg.mode))
        .await?;
    tx.commit().await?;
    Ok(())
}
