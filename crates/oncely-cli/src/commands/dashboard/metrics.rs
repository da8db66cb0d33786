//! Prometheus metrics with `prometheus-client`: what the database holds (the
//! console's `/metrics`) and what one worker did (`oncely worker
//! --metrics-listen`), in the OpenMetrics text format.
//!
//! Invariants: counters come from the library's [`StatsSnapshot`] (monotonic
//! since the worker started); histograms are fed live through the library's
//! [`Observer`] hook; label values are escaped here (the crate writes them
//! as given); help texts end without a period (the crate adds one).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use oncely::store::{LeaderTerm, QueueState};
use oncely::worker::{Observer, StatsSnapshot};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(String, String)>;

/// A label set; values escaped as the text format requires (the crate
/// writes them as given).
fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), escape(v)))
        .collect()
}

/// Escapes a label value: backslash, double quote, newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn text(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}

/// What the database holds, for the console.
pub struct DatabaseView<'a> {
    /// Job counts by queue, then state.
    pub counts: &'a BTreeMap<String, BTreeMap<&'static str, i64>>,
    /// The latest leader.
    pub leader: Option<&'a LeaderTerm>,
    /// Whether its lease still runs.
    pub leader_live: bool,
    /// Each schedule's last fired period (Unix seconds).
    pub schedules: &'a [(String, Option<f64>)],
    /// Schedules that cannot be used.
    pub broken_schedules: usize,
    /// Queues with a pause record.
    pub queue_states: &'a [QueueState],
}

/// Job counts, in-doubt total, paused queues, the leader's term, schedules.
pub fn database(view: &DatabaseView<'_>) -> String {
    let mut registry = Registry::default();
    let jobs = Family::<Labels, Gauge>::default();
    let mut in_doubt = 0;
    for (queue, states) in view.counts {
        for (state, n) in states {
            jobs.get_or_create(&labels(&[("queue", queue), ("state", state)]))
                .set(*n);
            if *state == oncely::JobState::InDoubt.as_str() {
                in_doubt += n;
            }
        }
    }
    registry.register("oncely_jobs", "Jobs by queue and state", jobs);
    let doubts = Gauge::<i64>::default();
    doubts.set(in_doubt);
    registry.register(
        "oncely_jobs_in_doubt",
        "Jobs waiting for a decision (reconciliation or a person), all queues",
        doubts,
    );
    let paused = Family::<Labels, Gauge>::default();
    for q in view.queue_states {
        paused
            .get_or_create(&labels(&[("queue", &q.name)]))
            .set(i64::from(q.paused()));
    }
    registry.register(
        "oncely_queue_paused",
        "1 while an operator has paused the queue (no worker claims from it)",
        paused,
    );
    let term = Gauge::<i64>::default();
    term.set(
        view.leader
            .filter(|_| view.leader_live)
            .map_or(0, |l| l.term),
    );
    registry.register(
        "oncely_leader_term",
        "Term of the current leader (0 when no leader is live)",
        term,
    );
    let last = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for (name, at) in view.schedules {
        if let Some(at) = at {
            last.get_or_create(&labels(&[("schedule", name)])).set(*at);
        }
    }
    registry.register(
        "oncely_schedule_last_period_timestamp_seconds",
        "Start of the newest period a schedule fired (Unix seconds)",
        last,
    );
    let broken = Gauge::<i64>::default();
    broken.set(i64::try_from(view.broken_schedules).unwrap_or(i64::MAX));
    registry.register(
        "oncely_schedules_broken",
        "Stored schedules that cannot be used (row does not decode or definition does not validate); skipped",
        broken,
    );
    text(&registry)
}

type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn claim_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

fn run_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 14))
}

fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 18))
}

/// A worker's histograms, fed by the library as attempts happen.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    worker: String,
    claim: Histograms,
    run: Histograms,
    latency: Histograms,
}

impl WorkerMetrics {
    /// Empty histograms for `worker`.
    pub fn new(worker: &str) -> Self {
        WorkerMetrics {
            worker: worker.to_owned(),
            claim: Family::new_with_constructor(claim_buckets),
            run: Family::new_with_constructor(run_buckets),
            latency: Family::new_with_constructor(latency_buckets),
        }
    }

    /// The worker's counters (from `stats`) and histograms.
    pub fn render(&self, stats: &StatsSnapshot) -> String {
        let mut registry = Registry::default();
        let w = self.worker.as_str();
        let attempts = Family::<Labels, Counter>::default();
        for (outcome, n) in [
            ("completed", stats.completed),
            ("retried", stats.retried),
            ("discarded", stats.discarded),
            ("snoozed", stats.snoozed),
            ("cancelled", stats.cancelled),
            ("released", stats.released),
            ("in_doubt", stats.in_doubt),
            ("reconciled", stats.reconciled),
            ("lease_lost", stats.lease_lost),
            ("write_failed", stats.write_failed),
            ("stopped_at_deadline", stats.stopped_at_deadline),
            ("cancel_request_obeyed", stats.cancel_requests_obeyed),
        ] {
            attempts
                .get_or_create(&labels(&[("worker", w), ("outcome", outcome)]))
                .inc_by(n);
        }
        registry.register(
            "oncely_worker_attempts",
            "Attempts of this worker by how they ended",
            attempts,
        );
        for (name, help, n) in [
            ("oncely_worker_claimed", "Jobs this worker claimed", stats.claimed),
            (
                "oncely_worker_lease_lost",
                "Fenced writes of this worker refused because the lease was lost",
                stats.lease_lost,
            ),
            (
                "oncely_worker_rescued",
                "Expired leases this worker's rescuer moved on while it led (retryable, discarded or in doubt)",
                stats.rescued,
            ),
            (
                "oncely_worker_policy_raised",
                "Jobs stored with a weaker effect policy than this worker's kind declares, run under the stricter one",
                stats.policy_raised,
            ),
            (
                "oncely_worker_handed_back",
                "Jobs claimed ahead into the local buffer and handed back without starting (held too long, or at shutdown)",
                stats.handed_back,
            ),
            (
                "oncely_worker_maintenance_failures",
                "Failed or panicked passes of maintenance services (election, rescuer, periodic enqueuer, pruner), each restarted",
                stats.maintenance_failures,
            ),
        ] {
            let counter = Family::<Labels, Counter>::default();
            counter.get_or_create(&labels(&[("worker", w)])).inc_by(n);
            registry.register(name, help, counter);
        }
        registry.register(
            "oncely_worker_claim_duration_seconds",
            "Time of one claim statement, by queue",
            self.claim.clone(),
        );
        registry.register(
            "oncely_worker_run_duration_seconds",
            "Time an attempt ran, by queue, kind and outcome",
            self.run.clone(),
        );
        registry.register(
            "oncely_worker_queue_latency_seconds",
            "Time from a job being due to its attempt starting, by queue and kind",
            self.latency.clone(),
        );
        text(&registry)
    }
}

impl Observer for WorkerMetrics {
    fn claimed(&self, queue: &str, _jobs: usize, took: Duration) {
        self.claim
            .get_or_create(&labels(&[("queue", queue)]))
            .observe(took.as_secs_f64());
    }

    fn started(&self, queue: &str, kind: &str, waited: Duration) {
        self.latency
            .get_or_create(&labels(&[("queue", queue), ("kind", kind)]))
            .observe(waited.as_secs_f64());
    }

    fn finished(&self, queue: &str, kind: &str, outcome: &'static str, ran: Duration) {
        self.run
            .get_or_create(&labels(&[
                ("queue", queue),
                ("kind", kind),
                ("outcome", outcome),
            ]))
            .observe(ran.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_histograms_fill() {
        let m = WorkerMetrics::new("host \"1\"");
        m.finished("q", "k", "completed", Duration::from_millis(3));
        m.started("q", "k", Duration::from_millis(2));
        let text = m.render(&StatsSnapshot {
            completed: 4,
            ..StatsSnapshot::default()
        });
        assert!(
            text.contains(
                "oncely_worker_attempts_total{worker=\"host \\\"1\\\"\",outcome=\"completed\"} 4"
            ),
            "{text}"
        );
        assert!(
            text.contains("oncely_worker_run_duration_seconds_count{queue=\"q\",kind=\"k\",outcome=\"completed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("oncely_worker_queue_latency_seconds_bucket"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
