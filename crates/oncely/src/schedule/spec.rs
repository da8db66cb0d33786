//! [`Spec`]: when the periods of a schedule start.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// When periods start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Spec {
    /// A cron expression (5 fields, or 6 with seconds first; `@daily`-style
    /// aliases) evaluated in an IANA time zone, daylight saving included.
    Cron {
        /// The expression.
        expr: String,
        /// IANA zone name, e.g. `Europe/Paris`. `UTC` by default.
        tz: String,
    },
    /// Every `seconds`, aligned to the Unix epoch (so every server agrees).
    Every {
        /// Period length in whole seconds (1 or more).
        seconds: u64,
    },
}

impl Spec {
    /// A cron spec in UTC.
    pub fn cron(expr: impl Into<String>) -> Self {
        Spec::Cron {
            expr: expr.into(),
            tz: "UTC".into(),
        }
    }

    /// A fixed interval.
    pub fn every(period: Duration) -> Self {
        Spec::Every {
            seconds: period.as_secs().max(1),
        }
    }

    /// Checks that the expression parses and the zone exists.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Spec::Cron { expr, tz } => {
                parse_cron(expr)?;
                parse_tz(tz)?;
                Ok(())
            }
            Spec::Every { seconds } if *seconds > MAX_INTERVAL_SECS => {
                Err(ValidationError::Schedule(format!(
                    "interval of {seconds} s is too long: at most {MAX_INTERVAL_SECS} s (10 years)"
                )))
            }
            Spec::Every { seconds } if *seconds >= 1 => Ok(()),
            Spec::Every { .. } => Err(ValidationError::NonPositive("interval")),
        }
    }

    /// The latest period start at or before `t`, if any (checked arithmetic:
    /// `None` where it would leave the representable range).
    pub fn latest_at_or_before(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ValidationError> {
        match self {
            Spec::Every { seconds } => Ok(interval_step(*seconds).and_then(|step| {
                let start = t.timestamp().div_euclid(step).checked_mul(step)?;
                Utc.timestamp_opt(start, 0).single()
            })),
            Spec::Cron { expr, tz } => {
                let cron = parse_cron(expr)?;
                let zone = parse_tz(tz)?;
                let local = t.with_timezone(&zone);
                Ok(cron
                    .find_previous_occurrence(&local, true)
                    .ok()
                    .map(|p| p.with_timezone(&Utc)))
            }
        }
    }

    /// The latest period start strictly before `t`, if any.
    pub fn latest_before(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ValidationError> {
        match self {
            Spec::Every { .. } => match t.checked_sub_signed(chrono::Duration::nanoseconds(1)) {
                Some(earlier) => self.latest_at_or_before(earlier),
                None => Ok(None),
            },
            Spec::Cron { expr, tz } => {
                let cron = parse_cron(expr)?;
                let zone = parse_tz(tz)?;
                let local = t.with_timezone(&zone);
                Ok(cron
                    .find_previous_occurrence(&local, false)
                    .ok()
                    .map(|p| p.with_timezone(&Utc))
                    .filter(|p| *p < t))
            }
        }
    }

    /// The first period start strictly after `after`, or `None` if there is none.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ValidationError> {
        match self {
            Spec::Every { seconds } => Ok(interval_step(*seconds).and_then(|step| {
                let next = after
                    .timestamp()
                    .div_euclid(step)
                    .checked_add(1)?
                    .checked_mul(step)?;
                Utc.timestamp_opt(next, 0).single()
            })),
            Spec::Cron { expr, tz } => {
                let cron = parse_cron(expr)?;
                let zone = parse_tz(tz)?;
                let local = after.with_timezone(&zone);
                Ok(cron
                    .find_next_occurrence(&local, false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)))
            }
        }
    }

    /// A short human form: the cron expression and zone, or `every Ns`.
    pub fn describe(&self) -> String {
        match self {
            Spec::Cron { expr, tz } if tz == "UTC" => expr.clone(),
            Spec::Cron { expr, tz } => format!("{expr} ({tz})"),
            Spec::Every { seconds } => format!("every {seconds}s"),
        }
    }
}

/// Longest interval a schedule may have: 10 years.
pub const MAX_INTERVAL_SECS: u64 = 10 * 366 * 24 * 3600;

/// An interval's length as a positive `i64`; `None` for 0 or one too long to represent.
fn interval_step(seconds: u64) -> Option<i64> {
    i64::try_from(seconds).ok().filter(|s| *s >= 1)
}

fn parse_cron(expr: &str) -> Result<Cron, ValidationError> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|e| ValidationError::Schedule(format!("cron expression {expr:?}: {e}")))
}

fn parse_tz(tz: &str) -> Result<Tz, ValidationError> {
    Tz::from_str(tz).map_err(|_| ValidationError::Schedule(format!("unknown time zone {tz:?}")))
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
    fn five_and_six_fields_and_aliases() {
        let next = |e: &str, t: &str| Spec::cron(e).next_after(at(t)).expect("ok").expect("some");
        assert_eq!(
            next("0 * * * *", "2026-01-01T10:15:00Z"),
            at("2026-01-01T11:00:00Z")
        );
        assert_eq!(
            next("*/10 * * * * *", "2026-01-01T10:15:03Z"),
            at("2026-01-01T10:15:10Z")
        );
        assert_eq!(
            next("@daily", "2026-01-01T10:15:00Z"),
            at("2026-01-02T00:00:00Z")
        );
        assert_eq!(
            next("@hourly", "2026-01-01T10:00:00Z"),
            at("2026-01-01T11:00:00Z")
        );
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(Spec::cron("61 * * * *").validate().is_err());
        assert!(Spec::cron("not cron").validate().is_err());
        let bad_zone = Spec::Cron {
            expr: "0 * * * *".into(),
            tz: "Mars/Olympus".into(),
        };
        assert!(bad_zone.validate().is_err());
        assert!(Spec::Every { seconds: 0 }.validate().is_err());
        assert!(Spec::Every { seconds: u64::MAX }.validate().is_err());
        assert!(Spec::Every {
            seconds: MAX_INTERVAL_SECS + 1
        }
        .validate()
        .is_err());
        assert!(Spec::Every {
            seconds: MAX_INTERVAL_SECS
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn intervals_align_to_the_epoch() {
        let every = Spec::every(Duration::from_secs(60));
        assert_eq!(
            every.next_after(at("2026-01-01T10:15:30Z")).expect("ok"),
            Some(at("2026-01-01T10:16:00Z"))
        );
        assert_eq!(
            every.next_after(at("2026-01-01T10:16:00Z")).expect("ok"),
            Some(at("2026-01-01T10:17:00Z"))
        );
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        let paris = Spec::Cron {
            expr: "0 9 * * *".into(),
            tz: "Europe/Paris".into(),
        };
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            paris.next_after(at("2026-01-10T00:00:00Z")).expect("ok"),
            Some(at("2026-01-10T08:00:00Z"))
        );
        assert_eq!(
            paris.next_after(at("2026-07-10T00:00:00Z")).expect("ok"),
            Some(at("2026-07-10T07:00:00Z"))
        );
        // New York falls back on 2026-11-01: 01:30 local happens twice; fire once.
        let ny = Spec::Cron {
            expr: "30 1 * * *".into(),
            tz: "America/New_York".into(),
        };
        let mut t = at("2026-10-31T12:00:00Z");
        let mut fired = Vec::new();
        for _ in 0..3 {
            t = ny.next_after(t).expect("ok").expect("some");
            fired.push(t);
        }
        assert_eq!(fired[0], at("2026-11-01T05:30:00Z"), "first 01:30 EDT");
        assert_eq!(
            fired[1],
            at("2026-11-02T06:30:00Z"),
            "next day 01:30 EST, not the repeated hour"
        );
        // Spring forward on 2026-03-08: 02:30 local does not exist that day.
        let gap = Spec::Cron {
            expr: "30 2 * * *".into(),
            tz: "America/New_York".into(),
        };
        let next = gap
            .next_after(at("2026-03-08T05:00:00Z"))
            .expect("ok")
            .expect("some");
        assert!(
            next > at("2026-03-08T06:59:00Z"),
            "no fire inside the gap: {next}"
        );
    }
}
