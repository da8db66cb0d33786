//! The report: a table for people, JSON for machines.

use serde::Serialize;

use crate::scenarios::{Row, Settings};

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The sizes used.
    pub settings: Settings,
    /// One row per backend and scenario.
    pub rows: Vec<Row>,
    /// Peak resident memory of the benchmark process (clients included).
    pub peak_rss_mib: Option<f64>,
}

impl Report {
    /// An empty report for `settings`.
    pub fn new(settings: &Settings) -> Self {
        Report {
            settings: settings.clone(),
            rows: Vec::new(),
            peak_rss_mib: None,
        }
    }

    /// Prints the table.
    pub fn print(&self) {
        let s = &self.settings;
        println!(
            "oncely-bench: {} clients x concurrency {}; {} jobs per throughput run; latency: {} jobs at {}/s",
            s.clients, s.concurrency, s.jobs, s.latency_jobs, s.latency_rate
        );
        println!(
            "{:<9} {:<38} {:>7} {:>8} {:>10} {:>28}",
            "backend", "scenario", "jobs", "seconds", "jobs/s", "latency p50/p95/p99/max ms"
        );
        for r in &self.rows {
            let latency = r
                .latency
                .map(|l| {
                    format!(
                        "{:.1}/{:.1}/{:.1}/{:.1}",
                        l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
                    )
                })
                .unwrap_or_default();
            println!(
                "{:<9} {:<38} {:>7} {:>8.2} {:>10.0} {:>28}",
                r.backend, r.scenario, r.jobs, r.seconds, r.jobs_per_sec, latency
            );
        }
        for r in &self.rows {
            if let Some(c) = r.db_cost {
                println!(
                    "{} {}: WAL {:.0} bytes/job, {} dead tuples left, tables {:.1} MiB + indexes {:.1} MiB",
                    r.backend, r.scenario, c.wal_bytes_per_job, c.dead_tuples, c.table_mib, c.index_mib
                );
            }
        }
        for r in &self.rows {
            if let Some(c) = r.cpu {
                println!(
                    "{} {}: CPU {:.1} µs/job in the benchmark's clients, {:.1} µs/job on the whole machine",
                    r.backend, r.scenario, c.client_us_per_job, c.machine_us_per_job
                );
            }
        }
        for r in &self.rows {
            for sample in r.samples.iter().flatten() {
                println!(
                    "{} churn at {:>5.0} s: {:>7.0} jobs/s completed, backlog {:>7}, {:>7.1} MiB, {:>7} dead tuples",
                    r.backend,
                    sample.at_secs,
                    sample.completed_per_sec,
                    sample.backlog,
                    sample.size_mib,
                    sample.dead_tuples
                );
            }
        }
        if let Some(mib) = self.peak_rss_mib {
            println!("peak memory of the benchmark process: {mib:.0} MiB");
        }
    }
}
