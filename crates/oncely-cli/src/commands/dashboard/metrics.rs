//! Prometheus text exposition of what the database and a worker know.
//!
//! Label values are escaped as the format requires (backslash, quote,
//! newline); names are fixed here.

use std::fmt::Write;

use std::collections::BTreeMap;

use oncely::store::LeaderTerm;
use oncely::worker::StatsSnapshot;

/// Escapes a label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Job counts, the leader's term, and schedules' last fired periods.
pub fn database(
    counts: &BTreeMap<String, BTreeMap<&'static str, i64>>,
    leader: Option<&LeaderTerm>,
    leader_live: bool,
    schedules: &[(String, Option<f64>)],
    broken_schedules: usize,
) -> String {
    let mut out = String::new();
    header(&mut out, "oncely_jobs", "gauge", "Jobs by queue and state.");
    for (queue, states) in counts {
        for (state, n) in states {
            let _ = writeln!(
                out,
                "oncely_jobs{{queue=\"{}\",state=\"{state}\"}} {n}",
                label(queue)
            );
        }
    }
    header(
        &mut out,
        "oncely_leader_term",
        "gauge",
        "Term of the current leader (0 when no leader is live).",
    );
    let term = leader.filter(|_| leader_live).map_or(0, |l| l.term);
    let _ = writeln!(out, "oncely_leader_term {term}");
    header(
        &mut out,
        "oncely_schedule_last_period_timestamp_seconds",
        "gauge",
        "Start of the newest period a schedule fired (Unix seconds).",
    );
    for (name, last) in schedules {
        if let Some(last) = last {
            let _ = writeln!(
                out,
                "oncely_schedule_last_period_timestamp_seconds{{schedule=\"{}\"}} {last}",
                label(name)
            );
        }
    }
    header(
        &mut out,
        "oncely_schedules_broken",
        "gauge",
        "Stored schedules that cannot be used (row does not decode or definition does not validate); skipped.",
    );
    let _ = writeln!(out, "oncely_schedules_broken {broken_schedules}");
    out
}

/// A worker's counters since it started.
pub fn worker(worker_id: &str, s: &StatsSnapshot) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "oncely_worker_attempts_total",
        "counter",
        "Attempts of this worker by how they ended.",
    );
    let id = label(worker_id);
    for (outcome, n) in [
        ("completed", s.completed),
        ("retried", s.retried),
        ("discarded", s.discarded),
        ("snoozed", s.snoozed),
        ("cancelled", s.cancelled),
        ("released", s.released),
        ("in_doubt", s.in_doubt),
        ("reconciled", s.reconciled),
        ("lease_lost", s.lease_lost),
        ("write_failed", s.write_failed),
        ("stopped_at_deadline", s.stopped_at_deadline),
        ("cancel_request_obeyed", s.cancel_requests_obeyed),
    ] {
        let _ = writeln!(
            out,
            "oncely_worker_attempts_total{{worker=\"{id}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    header(
        &mut out,
        "oncely_worker_claimed_total",
        "counter",
        "Jobs this worker claimed.",
    );
    let _ = writeln!(
        out,
        "oncely_worker_claimed_total{{worker=\"{id}\"}} {}",
        s.claimed
    );
    header(
        &mut out,
        "oncely_worker_policy_raised_total",
        "counter",
        "Jobs stored with a weaker effect policy than this worker's kind declares, run under the stricter one.",
    );
    let _ = writeln!(
        out,
        "oncely_worker_policy_raised_total{{worker=\"{id}\"}} {}",
        s.policy_raised
    );
    header(
        &mut out,
        "oncely_worker_handed_back_total",
        "counter",
        "Jobs claimed ahead into the local buffer and handed back without starting (held too long, or at shutdown).",
    );
    let _ = writeln!(
        out,
        "oncely_worker_handed_back_total{{worker=\"{id}\"}} {}",
        s.handed_back
    );
    header(
        &mut out,
        "oncely_worker_maintenance_failures_total",
        "counter",
        "Failed or panicked passes of maintenance services (election, rescuer, periodic enqueuer, pruner).",
    );
    let _ = writeln!(
        out,
        "oncely_worker_maintenance_failures_total{{worker=\"{id}\"}} {}",
        s.maintenance_failures
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let text = worker("host \"1\"", &StatsSnapshot::default());
        assert!(text.contains("worker=\"host \\\"1\\\"\",outcome=\"completed\"} 0"));
    }
}
