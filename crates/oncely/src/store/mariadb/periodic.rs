//! Schedules, leader election and pruning on MariaDB.
//!
//! Invariants: a schedule fires at most once per period (the firing row's
//! primary key), and only while the caller's leadership term is current
//! (checked in the same statement); the leader's pruning and schedule
//! writes refuse a term that has ended with `LeadershipLost`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::{MySqlConnection, Row};

use super::driver::{insert_tx, micros, retrying_deadlocks, MariaDbDriver};
use super::rows;
use crate::error::Result;
use crate::schedule::{Schedule, ScheduleListing, ScheduleRecord};
use crate::store::schedule_rows::{corrupt, json_text, lost};
use crate::store::{FireParams, LeaderTerm, PruneParams};

fn schedule_record(row: &MySqlRow) -> Result<ScheduleRecord> {
    let name: String = row.try_get("name")?;
    let spec: String = row.try_get("spec")?;
    let args: String = row.try_get("args")?;
    let catch_up: String = row.try_get("catch_up")?;
    Ok(ScheduleRecord {
        schedule: Schedule {
            spec: serde_json::from_str(&spec).map_err(|e| corrupt(&name, "spec", e))?,
            catch_up: serde_json::from_str(&catch_up).map_err(|e| corrupt(&name, "catch_up", e))?,
            args: serde_json::from_str(&args).map_err(|e| corrupt(&name, "args", e))?,
            queue: row.try_get("queue")?,
            kind: row.try_get("kind")?,
            at_most_once: row.try_get("at_most_once")?,
            reconcilable: row.try_get("reconcilable")?,
            max_attempts: row.try_get("max_attempts")?,
            name,
        },
        last_period: rows::opt_time(row, "last_period")?,
        next_period: rows::opt_time(row, "next_period")?,
        created_at: rows::time(row, "created_at")?,
    })
}

fn leader_row(row: &MySqlRow) -> Result<LeaderTerm> {
    Ok(LeaderTerm {
        leader_id: row.try_get("leader_id")?,
        term: row.try_get("term")?,
        elected_at: rows::time(row, "elected_at")?,
        expires_at: rows::time(row, "expires_at")?,
    })
}

pub(super) async fn schedule_upsert(d: &MariaDbDriver, s: &Schedule) -> Result<()> {
    s.validate()?;
    sqlx::query(include_str!("sql/schedule_upsert.sql"))
        .bind(&s.name)
        .bind(json_text(&s.spec)?)
        .bind(&s.queue)
        .bind(&s.kind)
        .bind(json_text(&s.args)?)
        .bind(s.at_most_once)
        .bind(s.max_attempts)
        .bind(json_text(&s.catch_up)?)
        .bind(s.reconcilable)
        .execute(&d.pool)
        .await?;
    Ok(())
}

pub(super) async fn schedule_list(d: &MariaDbDriver) -> Result<ScheduleListing> {
    let rows = sqlx::query(include_str!("sql/schedule_list.sql"))
        .fetch_all(&d.pool)
        .await?;
    let mut listing = ScheduleListing::default();
    for row in &rows {
        let name: String = row.try_get("name").unwrap_or_else(|_| "?".into());
        listing.push(name, schedule_record(row));
    }
    Ok(listing)
}

/// Whether `term` is the current leadership (read with a lock, in the
/// caller's transaction).
async fn holds(conn: &mut MySqlConnection, term: &LeaderTerm) -> Result<bool> {
    let current = sqlx::query(include_str!("sql/leader_get_locked.sql"))
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| leader_row(&r))
        .transpose()?;
    Ok(current.is_some_and(|l| l.leader_id == term.leader_id && l.term == term.term))
}

pub(super) async fn schedule_fire(d: &MariaDbDriver, p: &FireParams<'_>) -> Result<Option<i64>> {
    let period = p.period_start.naive_utc();
    let mut tx = d.pool.begin().await?;
    let recorded = sqlx::query(include_str!("sql/schedule_firing_insert.sql"))
        .bind(p.schedule)
        .bind(period)
        .bind(&p.term.leader_id)
        .bind(&p.term.leader_id)
        .bind(p.term.term)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !recorded {
        let holds = holds(&mut tx, p.term).await?;
        tx.rollback().await?;
        return if holds { Ok(None) } else { Err(lost(p.term)) };
    }
    let job = insert_tx(&mut tx, p.job).await?.job;
    sqlx::query(include_str!("sql/schedule_firing_set_job.sql"))
        .bind(job.id)
        .bind(p.schedule)
        .bind(period)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(job.id))
}

pub(super) async fn schedule_advance(
    d: &MariaDbDriver,
    name: &str,
    last: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    term: &LeaderTerm,
) -> Result<()> {
    let mut tx = d.pool.begin().await?;
    let done = sqlx::query(include_str!("sql/schedule_advance.sql"))
        .bind(last.naive_utc())
        .bind(last.naive_utc())
        .bind(next.map(|t| t.naive_utc()))
        .bind(name)
        .bind(&term.leader_id)
        .bind(term.term)
        .execute(&mut *tx)
        .await?;
    let refused = done.rows_affected() == 0 && !holds(&mut tx, term).await?;
    tx.commit().await?;
    if refused {
        return Err(lost(term));
    }
    Ok(())
}

pub(super) async fn leader_elect(
    d: &MariaDbDriver,
    leader_id: &str,
    ttl: Duration,
) -> Result<Option<LeaderTerm>> {
    let mut tx = d.pool.begin().await?;
    sqlx::query(include_str!("sql/leader_elect.sql"))
        .bind(leader_id)
        .bind(micros(ttl))
        .execute(&mut *tx)
        .await?;
    let current = sqlx::query(include_str!("sql/leader_get.sql"))
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| leader_row(&r))
        .transpose()?;
    tx.commit().await?;
    Ok(current.filter(|l| l.leader_id == leader_id))
}

pub(super) async fn leader_get(d: &MariaDbDriver) -> Result<Option<LeaderTerm>> {
    sqlx::query(include_str!("sql/leader_get.sql"))
        .fetch_optional(&d.pool)
        .await?
        .map(|r| leader_row(&r))
        .transpose()
}

pub(super) async fn job_prune(
    d: &MariaDbDriver,
    p: &PruneParams,
    term: &LeaderTerm,
) -> Result<u64> {
    let mut tx = d.pool.begin().await?;
    let deleted = sqlx::query(include_str!("sql/job_prune.sql"))
        .bind(micros(p.completed_older_than))
        .bind(micros(p.others_older_than))
        .bind(&term.leader_id)
        .bind(term.term)
        .bind(i64::from(p.batch.max(1)))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let refused = deleted == 0 && !holds(&mut tx, term).await?;
    tx.commit().await?;
    if refused {
        return Err(lost(term));
    }
    Ok(deleted)
}

pub(super) async fn firing_prune(
    d: &MariaDbDriver,
    older_than: Duration,
    batch: u32,
    term: &LeaderTerm,
) -> Result<u64> {
    retrying_deadlocks(|| firing_prune_once(d, older_than, batch, term)).await
}

async fn firing_prune_once(
    d: &MariaDbDriver,
    older_than: Duration,
    batch: u32,
    term: &LeaderTerm,
) -> Result<u64> {
    let mut tx = d.pool.begin().await?;
    let deleted = sqlx::query(include_str!("sql/firing_prune.sql"))
        .bind(micros(older_than))
        .bind(&term.leader_id)
        .bind(term.term)
        .bind(i64::from(batch.max(1)))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let refused = deleted == 0 && !holds(&mut tx, term).await?;
    tx.commit().await?;
    if refused {
        return Err(lost(term));
    }
    Ok(deleted)
}
