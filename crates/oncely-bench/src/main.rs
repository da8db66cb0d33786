//! `oncely-bench`: measures oncely's throughput and latency on PostgreSQL and
//! SQLite, so speed claims are numbers anyone can reproduce.
//!
//! Each scenario runs on a fresh database: on SQLite a temporary file, on
//! PostgreSQL a new database on the server at `DATABASE_URL` (a role that may
//! `CREATE DATABASE`), else on a throwaway cluster started from the machine's
//! server binaries (see `oncely-testkit`). Build it in
//! release mode (`scripts/bench.sh` does); debug numbers mean nothing.

#![forbid(unsafe_code)]

mod chart;
mod churn;
mod cpu;
mod db_cost;
mod hosts;
mod report;
mod scenarios;
mod scratch;
mod stats;

use clap::{Parser, ValueEnum};

use report::Report;
use scenarios::Settings;

/// Benchmarks of oncely.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Backends to measure.
    #[arg(long, value_enum, default_value = "both")]
    backend: Which,
    /// Jobs per throughput scenario.
    #[arg(long, default_value_t = 20_000)]
    jobs: u32,
    /// Worker clients (as separate servers would run).
    #[arg(long, default_value_t = 4)]
    clients: u32,
    /// Concurrency of each client's queue.
    #[arg(long, default_value_t = 25)]
    concurrency: u32,
    /// Jobs of the latency scenario (inserted one at a time, at --latency-rate per second).
    #[arg(long, default_value_t = 2_000)]
    latency_jobs: u32,
    /// Insert rate of the latency scenario, jobs per second.
    #[arg(long, default_value_t = 200)]
    latency_rate: u32,
    /// SQLite's synchronous mode: full (the default, durable) or normal
    /// (opt-in: the last commits can be lost on power loss).
    #[arg(long, value_enum, default_value = "full")]
    sqlite_synchronous: Synchronous,
    /// Length of the churn scenario (enqueue and drain together), seconds.
    #[arg(long, default_value_t = 600)]
    churn_secs: u32,
    /// Enqueue rate of the churn scenario, jobs per second.
    #[arg(long, default_value_t = 5_000)]
    churn_rate: u32,
    /// Run only these scenarios (comma-separated): insert, bulk, drain,
    /// latency, churn (minutes long: run only when named).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(scenarios::SCENARIOS))]
    only: Vec<String>,
    /// Draw the chart of a `bench/compare.py --json` file instead of
    /// running benchmarks (into --chart-out).
    #[arg(long)]
    chart_from: Option<std::path::PathBuf>,
    /// Where --chart-from draws its PNG.
    #[arg(long, default_value = "docs/benchmarks.png")]
    chart_out: std::path::PathBuf,
    /// A TrueType font for the chart's text (default: DejaVu Sans or
    /// Liberation Sans from the system).
    #[arg(long)]
    chart_font: Option<std::path::PathBuf>,
    /// Drain across this many hosts instead (comma-separated, e.g.
    /// `1,2,4,8`): network namespaces, each running `--clients` worker
    /// processes (one client each) behind its own TCP proxy, on one PostgreSQL.
    /// Needs root.
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<u32>,
    /// Internal: run as one host's worker process against this URL.
    #[arg(long, hide = true)]
    host_worker: Option<String>,
    /// With --hosts: lease (and leadership) of the worker processes, ms.
    #[arg(long, default_value_t = 2_000)]
    host_lease_ms: u64,
    /// With --hosts: cut the first host off for this many seconds once a
    /// third of the backlog is done (its proxy stalls), then heal it.
    #[arg(long)]
    partition_secs: Option<u64>,
    /// With --hosts: network latency each host's proxy adds, ms each way.
    #[arg(long, default_value_t = 0)]
    host_latency_ms: u64,
    /// With --hosts: put a PgBouncer in transaction mode with this many
    /// server connections between the hosts' proxies and PostgreSQL (the
    /// workers poll: LISTEN cannot pass a transaction pooler).
    #[arg(long)]
    host_pooler_connections: Option<u32>,
    /// Output: a table, or JSON.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    /// PostgreSQL and SQLite.
    Both,
    /// MariaDB alone (a throwaway server, or the one at `MARIADB_URL`).
    Mariadb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONCELY_LOG")
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(from) = &args.chart_from {
        return match chart::draw(from, &args.chart_out, args.chart_font.as_deref()) {
            Ok(()) => {
                println!("wrote {}", args.chart_out.display());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("oncely-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let settings = Settings {
        jobs: args.jobs.max(1),
        clients: args.clients.max(1),
        concurrency: args.concurrency.max(1),
        latency_jobs: args.latency_jobs.max(1),
        latency_rate: args.latency_rate.max(1),
        sqlite_synchronous: match args.sqlite_synchronous {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        },
        churn_secs: args.churn_secs.max(1),
        churn_rate: args.churn_rate.max(1),
    };
    if let Some(url) = &args.host_worker {
        let lease = std::time::Duration::from_millis(args.host_lease_ms.max(100));
        return match hosts::work(url, &settings, lease).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("oncely-bench worker: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let mut backends = Vec::new();
    match args.backend {
        Which::Sqlite => backends.push(oncely_testkit::Backend::Sqlite),
        Which::Postgres => backends.push(oncely_testkit::Backend::Postgres),
        Which::Both => backends.extend([
            oncely_testkit::Backend::Sqlite,
            oncely_testkit::Backend::Postgres,
        ]),
        Which::Mariadb => backends.push(oncely_testkit::Backend::MariaDb),
    }
    let mut report = Report::new(&settings);
    if !args.hosts.is_empty() {
        let faults = hosts::Faults {
            lease: std::time::Duration::from_millis(args.host_lease_ms.max(100)),
            partition: args.partition_secs.map(std::time::Duration::from_secs),
            latency: std::time::Duration::from_millis(args.host_latency_ms),
            pooler: args.host_pooler_connections.map(|n| n.max(1)),
        };
        match hosts::run(&args.hosts, &settings, faults).await {
            Ok(rows) => report.rows.extend(rows),
            Err(e) => {
                eprintln!("oncely-bench: hosts: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        backends.clear();
    }
    for backend in backends {
        match scenarios::run_all(backend, &settings, &args.only).await {
            Ok(rows) => report.rows.extend(rows),
            Err(e) => {
                eprintln!("oncely-bench: {backend:?}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    report.peak_rss_mib = stats::peak_rss_mib();
    match args.format {
        Format::Text => report.print(),
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("oncely-bench: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
    }
    std::process::ExitCode::SUCCESS
}
