//! SQLite verbs of schedules, leader election and pruning. Writes go through
//! the driver's write gate and `BEGIN IMMEDIATE` like every other write.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{insert_tx, SqliteDriver};
use crate::error::Result;
use crate::schedule::{Schedule, ScheduleListing, ScheduleRecord};
use crate::store::decode::{self, sqlite_timestamp};
use crate::store::schedule_rows::{corrupt, json_text, lost};
use crate::store::{FireParams, LeaderTerm, PruneParams};

/// A duration in the past as SQLite's date modifier, e.g. `-60.000 seconds`.
fn ago(d: Duration) -> String {
    format!("-{:.3} seconds", d.as_secs_f64())
}

fn schedule_record(row: &SqliteRow) -> Result<ScheduleRecord> {
    let name: String = row.try_get("name")?;
    let spec: String = row.try_get("spec")?;
    let args: String = row.try_get("args")?;
    let catch_up: String = row.try_get("catch_up")?;
    let created: String = row.try_get("created_at")?;
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
        last_period: decode::opt_timestamp(0, "last_period", row.try_get("last_period")?)?,
        next_period: decode::opt_timestamp(0, "next_period", row.try_get("next_period")?)?,
        created_at: decode::timestamp(0, "created_at", &created)?,
    })
}

fn leader_row(row: &SqliteRow) -> Result<LeaderTerm> {
    let elected: String = row.try_get("elected_at")?;
    let expires: String = row.try_get("expires_at")?;
    Ok(LeaderTerm {
        leader_id: row.try_get("leader_id")?,
        term: row.try_get("term")?,
        elected_at: decode::timestamp(0, "elected_at", &elected)?,
        expires_at: decode::timestamp(0, "expires_at", &expires)?,
    })
}

impl SqliteDriver {
    pub(super) async fn schedule_upsert_impl(&self, s: &Schedule) -> Result<()> {
        s.validate()?;
        let mut w = self.begin_write().await?;
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
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(())
    }

    pub(super) async fn schedule_remove_impl(&self, name: &str) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let gone = sqlx::query(include_str!("sql/schedule_remove.sql"))
            .bind(name)
            .fetch_optional(&mut *w.tx)
            .await?
            .is_some();
        w.tx.commit().await?;
        Ok(gone)
    }

    pub(super) async fn schedule_list_impl(&self) -> Result<ScheduleListing> {
        let rows = sqlx::query(include_str!("sql/schedule_list.sql"))
            .fetch_all(self.pool())
            .await?;
        let mut listing = ScheduleListing::default();
        for row in &rows {
            let name: String = row.try_get("name").unwrap_or_else(|_| "?".into());
            listing.push(name, schedule_record(row));
        }
        Ok(listing)
    }

    async fn holds(&self, conn: &mut sqlx::SqliteConnection, term: &LeaderTerm) -> Result<bool> {
        let current = sqlx::query(include_str!("sql/leader_get.sql"))
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| leader_row(&r))
            .transpose()?;
        Ok(current.is_some_and(|l| l.leader_id == term.leader_id && l.term == term.term))
    }

    pub(super) async fn schedule_fire_impl(&self, p: &FireParams<'_>) -> Result<Option<i64>> {
        let period = sqlite_timestamp(p.period_start);
        let mut w = self.begin_write().await?;
        let recorded = sqlx::query(include_str!("sql/schedule_firing_insert.sql"))
            .bind(p.schedule)
            .bind(&period)
            .bind(&p.term.leader_id)
            .bind(p.term.term)
            .fetch_optional(&mut *w.tx)
            .await?;
        if recorded.is_none() {
            let holds = self.holds(&mut w.tx, p.term).await?;
            w.tx.rollback().await?;
            return if holds { Ok(None) } else { Err(lost(p.term)) };
        }
        let job = insert_tx(&mut w.tx, p.job).await?.job;
        sqlx::query(include_str!("sql/schedule_firing_set_job.sql"))
            .bind(p.schedule)
            .bind(&period)
            .bind(job.id)
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(Some(job.id))
    }

    pub(super) async fn schedule_advance_impl(
        &self,
        name: &str,
        last: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        term: &LeaderTerm,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(include_str!("sql/schedule_advance.sql"))
            .bind(name)
            .bind(sqlite_timestamp(last))
            .bind(next.map(sqlite_timestamp))
            .bind(&term.leader_id)
            .bind(term.term)
            .fetch_optional(&mut *w.tx)
            .await?;
        let refused = row.is_none() && !self.holds(&mut w.tx, term).await?;
        w.tx.commit().await?;
        if refused {
            return Err(lost(term));
        }
        Ok(())
    }

    pub(super) async fn leader_elect_impl(
        &self,
        leader_id: &str,
        ttl: Duration,
    ) -> Result<Option<LeaderTerm>> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(include_str!("sql/leader_elect.sql"))
            .bind(leader_id)
            .bind(decode::sqlite_modifier(ttl))
            .fetch_optional(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        row.map(|r| leader_row(&r)).transpose()
    }

    pub(super) async fn leader_resign_impl(&self, term: &LeaderTerm) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let gone = sqlx::query(include_str!("sql/leader_resign.sql"))
            .bind(&term.leader_id)
            .bind(term.term)
            .fetch_optional(&mut *w.tx)
            .await?
            .is_some();
        w.tx.commit().await?;
        Ok(gone)
    }

    pub(super) async fn leader_get_impl(&self) -> Result<Option<LeaderTerm>> {
        sqlx::query(include_str!("sql/leader_get.sql"))
            .fetch_optional(self.pool())
            .await?
            .map(|r| leader_row(&r))
            .transpose()
    }

    pub(super) async fn job_prune_impl(&self, p: &PruneParams, term: &LeaderTerm) -> Result<u64> {
        let mut w = self.begin_write().await?;
        let deleted = sqlx::query(include_str!("sql/job_prune.sql"))
            .bind(ago(p.completed_older_than))
            .bind(ago(p.others_older_than))
            .bind(i64::from(p.batch.max(1)))
            .bind(&term.leader_id)
            .bind(term.term)
            .fetch_all(&mut *w.tx)
            .await?
            .len() as u64;
        let refused = deleted == 0 && !self.holds(&mut w.tx, term).await?;
        w.tx.commit().await?;
        if refused {
            return Err(lost(term));
        }
        Ok(deleted)
    }

    pub(super) async fn firing_prune_impl(
        &self,
        older_than: Duration,
        batch: u32,
        term: &LeaderTerm,
    ) -> Result<u64> {
        let mut w = self.begin_write().await?;
        let deleted = sqlx::query(include_str!("sql/firing_prune.sql"))
            .bind(ago(older_than))
            .bind(i64::from(batch.max(1)))
            .bind(&term.leader_id)
            .bind(term.term)
            .fetch_all(&mut *w.tx)
            .await?
            .len() as u64;
        let refused = deleted == 0 && !self.holds(&mut w.tx, term).await?;
        w.tx.commit().await?;
        if refused {
            return Err(lost(term));
        }
        Ok(deleted)
    }
}
