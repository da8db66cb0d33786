//! [`CatchUp`]: what to do about periods missed while no server ran.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Spec;
use crate::error::ValidationError;

/// Policy for periods whose start passed while nobody fired them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum CatchUp {
    /// Fire only a period that is current (started at most `grace_secs` ago); drop missed ones.
    Skip {
        /// How late a period may still be fired. Default 60 s.
        grace_secs: u32,
    },
    /// Fire once, for the latest missed period (the default).
    #[default]
    Latest,
    /// Fire every missed period, at most the `max` most recent.
    All {
        /// Upper bound on periods fired in one catch-up.
        max: u32,
    },
}

impl CatchUp {
    /// Checks bounds.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            CatchUp::All { max } if *max == 0 || *max > 10_000 => Err(ValidationError::Schedule(
                "catch-up max must be 1 to 10,000".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Parses `skip`, `latest` or `all` (with default bounds).
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        match name {
            "skip" => Ok(CatchUp::Skip { grace_secs: 60 }),
            "latest" => Ok(CatchUp::Latest),
            "all" => Ok(CatchUp::All { max: 100 }),
            other => Err(ValidationError::Schedule(format!(
                "catch-up policy {other:?}: use skip, latest or all"
            ))),
        }
    }

    /// Short name.
    pub fn name(&self) -> &'static str {
        match self {
            CatchUp::Skip { .. } => "skip",
            CatchUp::Latest => "latest",
            CatchUp::All { .. } => "all",
        }
    }
}

/// The period starts to fire now: those in `(after, now]` as the policy allows,
/// oldest first. `after` is the last fired period (or the schedule's creation).
pub fn periods_to_fire(
    spec: &Spec,
    policy: CatchUp,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ValidationError> {
    let keep = match policy {
        CatchUp::All { max } => max.max(1) as usize,
        _ => 1,
    };
    // Walk forward from `after`, keeping the last `keep` starts up to `now`.
    // Long outages of short periods are bounded: skip ahead in one jump.
    let mut due: std::collections::VecDeque<DateTime<Utc>> = Default::default();
    let mut cursor = jump_close_to(spec, after, now, keep)?;
    let mut steps = 0usize;
    while let Some(next) = spec.next_after(cursor)? {
        if next > now {
            break;
        }
        due.push_back(next);
        if due.len() > keep {
            due.pop_front();
        }
        cursor = next;
        steps += 1;
        if steps > 1_000_000 {
            break;
        }
    }
    if let CatchUp::Skip { grace_secs } = policy {
        due.retain(|p| now - *p <= chrono::Duration::seconds(i64::from(grace_secs)));
    }
    Ok(due.into_iter().collect())
}

/// For fixed intervals, starts the walk near `now` instead of at `after`.
fn jump_close_to(
    spec: &Spec,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
    keep: usize,
) -> Result<DateTime<Utc>, ValidationError> {
    if let Spec::Every { seconds } = spec {
        let span = i64::try_from(*seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(keep as i64 + 1);
        let floor = now - chrono::Duration::seconds(span);
        if floor > after {
            return Ok(floor);
        }
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn policies() {
        let hourly = Spec::cron("0 * * * *");
        let after = at("2026-01-01T00:00:00Z");
        let now = at("2026-01-01T05:10:00Z");
        assert_eq!(
            periods_to_fire(&hourly, CatchUp::Latest, after, now).expect("ok"),
            vec![at("2026-01-01T05:00:00Z")]
        );
        assert_eq!(
            periods_to_fire(&hourly, CatchUp::All { max: 3 }, after, now).expect("ok"),
            vec![
                at("2026-01-01T03:00:00Z"),
                at("2026-01-01T04:00:00Z"),
                at("2026-01-01T05:00:00Z")
            ]
        );
        assert!(
            periods_to_fire(&hourly, CatchUp::Skip { grace_secs: 60 }, after, now)
                .expect("ok")
                .is_empty(),
            "05:00 is 10 minutes late"
        );
        let on_time = at("2026-01-01T05:00:30Z");
        assert_eq!(
            periods_to_fire(&hourly, CatchUp::Skip { grace_secs: 60 }, after, on_time).expect("ok"),
            vec![at("2026-01-01T05:00:00Z")]
        );
        assert!(periods_to_fire(&hourly, CatchUp::Latest, now, now)
            .expect("ok")
            .is_empty());
    }

    #[test]
    fn long_outages_of_short_intervals_are_cheap() {
        let every = Spec::every(std::time::Duration::from_secs(1));
        let after = at("2020-01-01T00:00:00Z");
        let now = at("2026-01-01T00:00:00Z");
        let due = periods_to_fire(&every, CatchUp::All { max: 5 }, after, now).expect("ok");
        assert_eq!(due.len(), 5);
        assert_eq!(due[4], now);
    }
}
