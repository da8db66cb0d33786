//! The overview's throughput chart: jobs finalized per minute over the last
//! hour, completed above the axis and failures (discarded) below, drawn as
//! inline SVG from numbers only.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use maud::{html, Markup};
use oncely::store::MinuteCount;
use oncely::JobState;

/// Minutes shown.
pub const MINUTES: u32 = 60;
const WIDTH: i64 = 720;
const HALF: i64 = 70;

/// Per minute (oldest first): completed, failed (discarded).
pub fn series(now: DateTime<Utc>, counts: &[MinuteCount]) -> Vec<(DateTime<Utc>, i64, i64)> {
    let end = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    let mut by_minute: BTreeMap<DateTime<Utc>, (i64, i64)> = (0..i64::from(MINUTES))
        .rev()
        .map(|back| (end - TimeDelta::minutes(back), (0, 0)))
        .collect();
    for c in counts {
        if let Some(slot) = by_minute.get_mut(&c.minute) {
            match c.state {
                JobState::Completed => slot.0 += c.count,
                JobState::Discarded => slot.1 += c.count,
                _ => {}
            }
        }
    }
    by_minute
        .into_iter()
        .map(|(m, (ok, bad))| (m, ok, bad))
        .collect()
}

/// The chart and its totals.
pub fn render(now: DateTime<Utc>, counts: &[MinuteCount]) -> Markup {
    let points = series(now, counts);
    let top = points
        .iter()
        .map(|p| p.1.max(p.2))
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = WIDTH / i64::from(MINUTES);
    let completed: i64 = points.iter().map(|p| p.1).sum();
    let failed: i64 = points.iter().map(|p| p.2).sum();
    html! {
        p {
            "Last hour: " strong { (completed) } " completed, "
            strong { (failed) } " discarded (scale: " (top) " per minute)"
        }
        svg.chart width=(WIDTH) height=(2 * HALF + 20) viewBox=(format!("0 0 {WIDTH} {}", 2 * HALF + 20))
            role="img" aria-label="jobs completed and discarded per minute" {
            line x1="0" y1=(HALF) x2=(WIDTH) y2=(HALF) stroke="#9aa3b5" {}
            @for (i, (minute, ok, bad)) in points.iter().enumerate() {
                @let x = i as i64 * bar;
                @let up = ok * HALF / top;
                @let down = bad * HALF / top;
                g {
                    title { (minute.format("%H:%M")) ": " (ok) " completed, " (bad) " discarded" }
                    rect x=(x) y=(HALF - up) width=(bar - 1) height=(up) fill="#3b7dd8" {}
                    rect x=(x) y=(HALF) width=(bar - 1) height=(down) fill="#d8553b" {}
                }
            }
            text x="2" y=(2 * HALF + 16) font-size="11" fill="#6b7385" { "-60 min" }
            text x=(WIDTH - 30) y=(2 * HALF + 16) font-size="11" fill="#6b7385" { "now" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_minute_and_old_ones_are_left_out() {
        let now: DateTime<Utc> = "2026-12-01T10:30:40Z".parse().expect("time");
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let counts = vec![
            MinuteCount {
                minute: at("2026-12-01T10:30:00Z"),
                state: JobState::Completed,
                count: 7,
            },
            MinuteCount {
                minute: at("2026-12-01T10:29:00Z"),
                state: JobState::Discarded,
                count: 2,
            },
            MinuteCount {
                minute: at("2026-12-01T09:00:00Z"),
                state: JobState::Completed,
                count: 99,
            },
            MinuteCount {
                minute: at("2026-12-01T10:30:00Z"),
                state: JobState::Cancelled,
                count: 5,
            },
        ];
        let s = series(now, &counts);
        assert_eq!(s.len(), 60);
        assert_eq!(s[59], (at("2026-12-01T10:30:00Z"), 7, 0));
        assert_eq!(s[58], (at("2026-12-01T10:29:00Z"), 0, 2));
        assert_eq!(s.iter().map(|p| p.1).sum::<i64>(), 7);
        let svg = render(now, &counts).into_string();
        assert!(svg.contains("<strong>7</strong> completed"));
    }
}
