//! PostgreSQL verbs of schedules, leader election and pruning.

use super::pooled::{In, On};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::insert_tx;
use crate::error::{Error, Result};
use crate::schedule::{Schedule, ScheduleListing, ScheduleRecord};
use crate::store::schedule_rows::{json_text, lost};
use crate::store::{FireParams, LeaderTerm, PruneParams};

pub(super) async fn upsert(on: On<'_>, s: &Schedule) -> Result<()> {
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
        .execute(on)
        .await?;
    Ok(())
}

pub(super) async fn remove(on: On<'_>, name: &str) -> Result<bool> {
    Ok(sqlx::query(include_str!("sql/schedule_remove.sql"))
        .bind(name)
        .fetch_optional(on)
        .await?
        .is_some())
}

pub(super) async fn list(on: On<'_>) -> Result<ScheduleListing> {
    let rows = sqlx::query(include_str!("sql/schedule_list.sql"))
        .fetch_all(on)
        .await?;
    let mut listing = ScheduleListing::default();
    for row in &rows {
        let name: String = row.try_get("name").unwrap_or_else(|_| "?".into());
        listing.push(name, record(row));
    }
    Ok(listing)
}

fn record(row: &sqlx::postgres::PgRow) -> Result<ScheduleRecord> {
    let name: String = row.try_get("name")?;
    let bad = |what: &str, e: serde_json::Error| Error::CorruptRow {
        table: "oncely_schedules",
        id: None,
        reason: format!("schedule {name:?}: {what}: {e}"),
    };
    let spec: String = row.try_get("spec")?;
    let catch_up: String = row.try_get("catch_up")?;
    Ok(ScheduleRecord {
        schedule: Schedule {
            spec: serde_json::from_str(&spec).map_err(|e| bad("spec", e))?,
            catch_up: serde_json::from_str(&catch_up).map_err(|e| bad("catch_up", e))?,
            queue: row.try_get("queue")?,
            kind: row.try_get("kind")?,
            args: row.try_get("args")?,
            at_most_once: row.try_get("at_most_once")?,
            reconcilable: row.try_get("reconcilable")?,
            max_attempts: row.try_get("max_attempts")?,
            name: name.clone(),
        },
        last_period: row.try_get("last_period")?,
        next_period: row.try_get("next_period")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn holds(on: On<'_>, term: &LeaderTerm) -> Result<bool> {
    Ok(get_leader(on)
        .await?
        .is_some_and(|l| l.leader_id == term.leader_id && l.term == term.term))
}

pub(super) async fn fire(on: On<'_>, p: &FireParams<'_>) -> Result<Option<i64>> {
    let mut tx = on.pool.begin().await?;
    let recorded = sqlx::query(include_str!("sql/schedule_firing_insert.sql"))
        .bind(p.schedule)
        .bind(p.period_start)
        .bind(&p.term.leader_id)
        .bind(p.term.term)
        .fetch_optional(In(&mut tx, on.mode))
        .await?;
    if recorded.is_none() {
        tx.rollback().await?;
        return if holds(on, p.term).await? {
            Ok(None)
        } else {
            Err(lost(p.term))
        };
    }
    let job = insert_tx(&mut tx, p.job).await?.job;
    sqlx::query(include_str!("sql/schedule_firing_set_job.sql"))
        .bind(p.schedule)
        .bind(p.period_start)
        .bind(job.id)
        .execute(In(&mut tx, on.mode))
        .await?;
    tx.commit().await?;
    Ok(Some(job.id))
}

pub(super) async fn advance(
    on: On<'_>,
    name: &str,
    last: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    term: &LeaderTerm,
) -> Result<()> {
    let row = sqlx::query(include_str!("sql/schedule_advance.sql"))
        .bind(name)
        .bind(last)
        .bind(next)
        .bind(&term.leader_id)
        .bind(term.term)
        .fetch_optional(on)
        .await?;
    if row.is_none() && !holds(on, term).await? {
        return Err(lost(term));
    }
    Ok(())
}

fn leader_row(row: &sqlx::postgres::PgRow) -> Result<LeaderTerm> {
    Ok(LeaderTerm {
        leader_id: row.try_get("leader_id")?,
        term: row.try_get("term")?,
        elected_at: row.try_get("elected_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(super) async fn elect(
    on: On<'_>,
    leader_id: &str,
    ttl: Duration,
) -> Result<Option<LeaderTerm>> {
    sqlx::query(include_str!("sql/leader_elect.sql"))
        .bind(leader_id)
        .bind(ttl.as_secs_f64())
        .fetch_optional(on)
        .await?
        .map(|r| leader_row(&r))
        .transpose()
}

pub(super) async fn resign(on: On<'_>, term: &LeaderTerm) -> Result<bool> {
    Ok(sqlx::query(include_str!("sql/leader_resign.sql"))
        .bind(&term.leader_id)
        .bind(term.term)
        .fetch_optional(on)
        .await?
        .is_some())
}

pub(super) async fn get_leader(on: On<'_>) -> Result<Option<LeaderTerm>> {
    sqlx::query(include_str!("sql/leader_get.sql"))
        .fetch_optional(on)
        .await?
        .map(|r| leader_row(&r))
        .transpose()
}

pub(super) async fn prune(on: On<'_>, p: &PruneParams, term: &LeaderTerm) -> Result<u64> {
    let mut tx = on.pool.begin().await?;
    sqlx::query(include_str!("sql/sweep_plan.sql"))
        .execute(In(&mut tx, on.mode))
        .await?;
    let deleted = sqlx::query(include_str!("sql/job_prune.sql"))
        .bind(p.completed_older_than.as_secs_f64())
        .bind(p.others_older_than.as_secs_f64())
        .bind(i64::from(p.batch.max(1)))
        .bind(&term.leader_id)
        .bind(term.term)
        .fetch_all(In(&mut tx, on.mode))
        .await?
        .len() as u64;
    tx.commit().await?;
    if deleted == 0 && !holds(on, term).await? {
        return Err(lost(term));
    }
    Ok(deleted)
}

pub(super) async fn prune_firings(
    on: On<'_>,
    older_than: Duration,
    batch: u32,
    term: &LeaderTerm,
) -> Result<u64> {
    let deleted = sqlx::query(include_str!("sql/firing_prune.sql"))
        .bind(older_than.as_secs_f64())
        .bind(i64::from(batch.max(1)))
        .bind(&term.leader_id)
        .bind(term.term)
        .fetch_all(on)
        .await?
        .len() as u64;
    if deleted == 0 && !holds(on, term).await? {
        return Err(lost(term));
    }
    Ok(deleted)
}
