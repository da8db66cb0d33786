//! The invoicer's migrations, recorded apart from oncely's.

use super::DbError;
use oncely::store::postgres::pooled::In;

const POSTGRES: &[(i64, &str)] = &[(1, include_str!("postgres/migrations/0001_invoices.sql"))];
const SQLITE: &[(i64, &str)] = &[(1, include_str!("sqlite/migrations/0001_invoices.sql"))];

pub(super) async fn postgres(pg: &super::PgDb) -> Result<(), DbError> {
    let mut tx = pg.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('invoicer_migrate'))")
        .execute(In(&mut tx, pg.mode))
        .await?;
    sqlx::raw_sql(include_str!("postgres/sql/migrations_bootstrap.sql"))
        .execute(In(&mut tx, pg.mode))
        .await?;
    let current: i64 = sqlx::query_scalar(include_str!("postgres/sql/migrations_current.sql"))
        .fetch_one(In(&mut tx, pg.mode))
        .await?;
    for (version, sql) in POSTGRES.iter().filter(|(v, _)| *v > current) {
        sqlx::raw_sql(*sql).execute(In(&mut tx, pg.mode)).await?;
        sqlx::query(include_str!("postgres/sql/migrations_record.sql"))
            .bind(version)
            .execute(In(&mut tx, pg.mode))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn sqlite(pool: &sqlx::SqlitePool) -> Result<(), DbError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(include_str!("sqlite/sql/migrations_bootstrap.sql"))
        .execute(&mut *tx)
        .await?;
    let current: i64 = sqlx::query_scalar(include_str!("sqlite/sql/migrations_current.sql"))
        .fetch_one(&mut *tx)
        .await?;
    for (version, sql) in SQLITE.iter().filter(|(v, _)| *v > current) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::query(include_str!("sqlite/sql/migrations_record.sql"))
            .bind(version)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
