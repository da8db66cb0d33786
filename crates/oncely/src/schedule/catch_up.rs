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
///
/// The cost does not depend on how long ago `after` is: the walk starts at
/// most `keep + 1` periods before `now` (found by searching backwards from
/// `now`), so a per-second schedule whose last period is years old costs as
/// little as one fired a second ago. No arithmetic here can overflow or panic,
/// whatever the spec and instants (checked arithmetic throughout).
pub fn periods_to_fire(
    spec: &Spec,
    policy: CatchUp,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ValidationError> {
    if now <= after {
        return Ok(Vec::new());
    }
    let keep = match policy {
        CatchUp::All { max } => max.max(1) as usize,
        _ => 1,
    };
    // Step back from `now` over at most keep + 1 period starts; the walk
    // forward then starts there (or at `after`, if that is later).
    let mut cursor = after;
    let mut back = spec.latest_at_or_before(now)?;
    for _ in 0..=keep {
        match back {
            Some(start) if start > after => back = spec.latest_before(start)?,
            _ => break,
        }
    }
    if let Some(start) = back {
        cursor = cursor.max(start);
    }
    let mut due: std::collections::VecDeque<DateTime<Utc>> = Default::default();
    // Forward and backward searches agree up to daylight-saving repeats, so
    // this walk is a few steps longer than `keep` at most; the cap is a belt.
    for _ in 0..keep.saturating_mul(2).saturating_add(16) {
        let Some(next) = spec.next_after(cursor)? else {
            break;
        };
        if next > now || next <= cursor {
            break;
        }
        due.push_back(next);
        if due.len() > keep {
            due.pop_front();
        }
        cursor = next;
    }
    if let CatchUp::Skip { grace_secs } = policy {
        let grace = chrono::Duration::try_seconds(i64::from(grace_secs)).unwrap_or_default();
        due.retain(|p| now.signed_duration_since(*p) <= grace);
    }
    Ok(due.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
    fn anchors_years_old_fire_the_latest_period() {
        let now = at("2026-06-15T12:34:56Z");
        let ancient = at("1990-01-01T00:00:00Z");
        // A per-second schedule last fired 36 years ago.
        let every = Spec::every(std::time::Duration::from_secs(1));
        assert_eq!(
            periods_to_fire(&every, CatchUp::Latest, ancient, now).expect("ok"),
            vec![now]
        );
        // A per-minute cron, last fired years ago: the latest minute only.
        let minutely = Spec::cron("* * * * *");
        assert_eq!(
            periods_to_fire(&minutely, CatchUp::Latest, ancient, now).expect("ok"),
            vec![at("2026-06-15T12:34:00Z")]
        );
        // Every second with seconds in the cron, catch-up all with a bound.
        let secondly = Spec::cron("* * * * * *");
        let due = periods_to_fire(&secondly, CatchUp::All { max: 3 }, ancient, now).expect("ok");
        assert_eq!(
            due,
            vec![
                at("2026-06-15T12:34:54Z"),
                at("2026-06-15T12:34:55Z"),
                at("2026-06-15T12:34:56Z")
            ]
        );
        // Skip: the latest is current, so it fires.
        assert_eq!(
            periods_to_fire(&every, CatchUp::Skip { grace_secs: 60 }, ancient, now).expect("ok"),
            vec![now]
        );
        // Daily, anchor years old, catch-up all: the last `max` days.
        let daily = Spec::cron("@daily");
        let due = periods_to_fire(&daily, CatchUp::All { max: 2 }, ancient, now).expect("ok");
        assert_eq!(
            due,
            vec![at("2026-06-14T00:00:00Z"), at("2026-06-15T00:00:00Z")]
        );
    }

    #[test]
    fn fewer_periods_than_max_since_the_anchor() {
        let hourly = Spec::cron("0 * * * *");
        let after = at("2026-01-01T03:00:00Z");
        let now = at("2026-01-01T05:10:00Z");
        assert_eq!(
            periods_to_fire(&hourly, CatchUp::All { max: 100 }, after, now).expect("ok"),
            vec![at("2026-01-01T04:00:00Z"), at("2026-01-01T05:00:00Z")]
        );
    }

    #[test]
    fn extreme_values_never_panic() {
        let instants = [
            DateTime::<Utc>::MIN_UTC,
            at("1970-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
            DateTime::<Utc>::MAX_UTC,
        ];
        let specs = [
            Spec::Every { seconds: 1 },
            Spec::Every { seconds: u64::MAX },
            Spec::Every {
                seconds: i64::MAX as u64,
            },
            Spec::Every {
                seconds: i64::MAX as u64 + 1,
            },
            Spec::cron("* * * * * *"),
            Spec::cron("0 0 29 2 *"),
        ];
        let policies = [
            CatchUp::Latest,
            CatchUp::All { max: 10_000 },
            CatchUp::Skip {
                grace_secs: u32::MAX,
            },
        ];
        for spec in &specs {
            for policy in policies {
                for after in instants {
                    for now in instants {
                        let _ = periods_to_fire(spec, policy, after, now);
                    }
                }
            }
        }
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

    /// The oracle: walk forward one period at a time (fine for short spans).
    fn walked(
        spec: &Spec,
        policy: CatchUp,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut all = Vec::new();
        let mut cursor = after;
        while let Some(next) = spec.next_after(cursor).expect("ok") {
            if next > now {
                break;
            }
            all.push(next);
            cursor = next;
        }
        let keep = match policy {
            CatchUp::All { max } => max as usize,
            _ => 1,
        };
        let mut due: Vec<_> = all.iter().rev().take(keep).rev().copied().collect();
        if let CatchUp::Skip { grace_secs } = policy {
            due.retain(|p| (now - *p).num_seconds() <= i64::from(grace_secs));
        }
        due
    }

    fn policy() -> impl proptest::strategy::Strategy<Value = CatchUp> {
        use proptest::prelude::*;
        prop_oneof![
            Just(CatchUp::Latest),
            (1u32..50).prop_map(|max| CatchUp::All { max }),
            (0u32..600).prop_map(|grace_secs| CatchUp::Skip { grace_secs }),
        ]
    }

    proptest::proptest! {
        /// Any interval, any anchor, any now: no panic, and the periods are
        /// in `(after, now]`, ascending, aligned, at most `keep` of them.
        #[test]
        fn intervals_never_panic_and_stay_in_range(
            seconds in proptest::prop_oneof![1u64..100_000, 1u64..=u64::MAX],
            after in -8_000_000_000_000i64..8_000_000_000_000,
            now in -8_000_000_000_000i64..8_000_000_000_000,
            policy in policy(),
        ) {
            let spec = Spec::Every { seconds };
            let (Some(after), Some(now)) = (Utc.timestamp_opt(after, 0).single(), Utc.timestamp_opt(now, 0).single()) else {
                return Ok(());
            };
            let due = periods_to_fire(&spec, policy, after, now).expect("intervals always evaluate");
            let keep = match policy { CatchUp::All { max } => max as usize, _ => 1 };
            proptest::prop_assert!(due.len() <= keep);
            for pair in due.windows(2) {
                proptest::prop_assert!(pair[0] < pair[1]);
            }
            for p in &due {
                proptest::prop_assert!(*p > after && *p <= now);
                proptest::prop_assert_eq!(p.timestamp().rem_euclid(seconds.min(i64::MAX as u64) as i64), 0);
            }
        }

        /// Over short spans the direct computation equals the step-by-step walk.
        #[test]
        fn equals_the_walk_over_short_spans(
            seconds in 1u64..7200,
            now in 0i64..4_000_000_000,
            periods_back in 0i64..300,
            offset in 0i64..7200,
            policy in policy(),
        ) {
            let spec = Spec::Every { seconds };
            let now_t = Utc.timestamp_opt(now, 0).single().expect("in range");
            let after = Utc.timestamp_opt(now - periods_back * seconds as i64 - offset, 0).single().expect("in range");
            proptest::prop_assert_eq!(
                periods_to_fire(&spec, policy, after, now_t).expect("ok"),
                walked(&spec, policy, after, now_t)
            );
        }

        /// The same for cron specs, time zones with daylight saving included.
        #[test]
        fn cron_equals_the_walk(
            which in 0usize..4,
            now in 1_600_000_000i64..1_900_000_000,
            back_minutes in 0i64..3000,
            policy in policy(),
        ) {
            let specs = [
                Spec::cron("*/7 * * * *"),
                Spec::Cron { expr: "30 1 * * *".into(), tz: "America/New_York".into() },
                Spec::Cron { expr: "0 * * * *".into(), tz: "Europe/Paris".into() },
                Spec::cron("15 10 * * 1-5"),
            ];
            let spec = &specs[which];
            let now_t = Utc.timestamp_opt(now, 0).single().expect("in range");
            let after = now_t - chrono::Duration::minutes(back_minutes);
            proptest::prop_assert_eq!(
                periods_to_fire(spec, policy, after, now_t).expect("ok"),
                walked(spec, policy, after, now_t)
            );
        }
    }
}
