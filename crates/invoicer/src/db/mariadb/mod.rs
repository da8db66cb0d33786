//! The invoices table on MariaDB (oncely's pool: UTC, READ COMMITTED).
//! Every fenced write checks its matched-row count.

use oncely::store::Fence;
use sqlx::{MySqlPool, Row};

use super::{DbError, Fenced};
use crate::invoice::{Invoice, NewInvoice};

fn fenced(rows: u64) -> Fenced {
    if rows == 1 {
        Fenced::Done
    } else {
        Fenced::Refused
    }
}

pub(super) async fn migrate(pool: &MySqlPool) -> Result<(), DbError> {
    const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_invoices.sql"))];
    let mut conn = pool.acquire().await?;
    let locked: Option<i64> = sqlx::query_scalar(include_str!("sql/migrations_lock.sql"))
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(DbError::Corrupt(
            "another process held the invoicer's migration lock for 60 s".into(),
        ));
    }
    let applied = async {
        sqlx::raw_sql(include_str!("sql/migrations_bootstrap.sql"))
            .execute(&mut *conn)
            .await?;
        let current: i64 = sqlx::query_scalar(include_str!("sql/migrations_current.sql"))
            .fetch_one(&mut *conn)
            .await?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            sqlx::raw_sql(*sql).execute(&mut *conn).await?;
            sqlx::query(include_str!("sql/migrations_record.sql"))
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let _ = sqlx::query(include_str!("sql/migrations_unlock.sql"))
        .execute(&mut *conn)
        .await;
    Ok(applied?)
}

pub(super) async fn insert(pool: &MySqlPool, invoices: &[NewInvoice]) -> Result<Vec<i64>, DbError> {
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(invoices.len());
    for inv in invoices {
        let done = sqlx::query(include_str!("sql/invoice_insert.sql"))
            .bind(&inv.customer_id)
            .bind(inv.amount_cents)
            .bind(&inv.currency)
            .bind(inv.due_in_days)
            .execute(&mut *tx)
            .await?;
        ids.push(
            i64::try_from(done.last_insert_id())
                .map_err(|_| DbError::Corrupt("invoice id out of range".into()))?,
        );
    }
    tx.commit().await?;
    Ok(ids)
}

pub(super) async fn get(pool: &MySqlPool, id: i64) -> Result<Option<Invoice>, DbError> {
    let row = sqlx::query(include_str!("sql/invoice_get.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r: sqlx::mysql::MySqlRow| -> Result<Invoice, DbError> {
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

pub(super) async fn ids(
    pool: &MySqlPool,
    sql: &'static str,
    days: i32,
) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(sql).bind(days).fetch_all(pool).await?)
}

pub(super) async fn mark_sending(pool: &MySqlPool, id: i64, token: i64) -> Result<Fenced, DbError> {
    let done = sqlx::query(include_str!("sql/invoice_mark_sending.sql"))
        .bind(token)
        .bind(id)
        .bind(token)
        .execute(pool)
        .await?;
    Ok(fenced(done.rows_affected()))
}

pub(super) async fn mark_sent_and_complete(
    pool: &MySqlPool,
    id: i64,
    charge_id: &str,
    fence: Fence,
) -> Result<Fenced, DbError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(include_str!("sql/invoice_mark_sent.sql"))
        .bind(charge_id)
        .bind(fence.fence)
        .bind(id)
        .bind(fence.fence)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(Fenced::Refused);
    }
    match oncely::store::mariadb::complete_tx(&mut tx, fence).await {
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
    pool: &MySqlPool,
    id: i64,
    token: i64,
    reason: &str,
) -> Result<Fenced, DbError> {
    let done = sqlx::query(include_str!("sql/invoice_mark_failed.sql"))
        .bind(reason)
        .bind(token)
        .bind(id)
        .bind(token)
        .execute(pool)
        .await?;
    Ok(fenced(done.rows_affected()))
}

pub(super) async fn status_counts(pool: &MySqlPool) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sqlx::query(include_str!("sql/invoice_status_counts.sql"))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

pub(super) async fn all(pool: &MySqlPool) -> Result<Vec<(i64, String, Option<String>)>, DbError> {
    let rows = sqlx::query(include_str!("sql/invoices_all.sql"))
        .fetch_all(pool)
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

pub(super) async fn naive_mark_sent(
    pool: &MySqlPool,
    id: i64,
    charge_id: &str,
) -> Result<(), DbError> {
    sqlx::query(include_str!("sql/naive_mark_sent.sql"))
        .bind(charge_id)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
