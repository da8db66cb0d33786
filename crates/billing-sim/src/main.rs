//! `billing-sim`: a billing provider simulator, so the invoicer's send jobs
//! cross a real network boundary and meet real faults.
//!
//! Layout: [`ledger`] keeps every charge (durable, a JSON-lines file) and the
//! idempotency keys; [`api`] is the HTTP contract (axum); [`server`] accepts
//! connections itself so a request can be answered by closing the connection
//! after its charge was recorded (`--drop-after-commit-rate`).

#![forbid(unsafe_code)]

mod api;
mod faults;
mod ledger;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// A billing provider simulator.
#[derive(Debug, Parser)]
#[command(name = "billing-sim", version, about)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one (printed on the first line of stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Honour `Idempotency-Key` (the post's provider had no such thing).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    idempotency: OnOff,
    /// Added latency of each charge, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of charges answered 503 without charging (0..=1).
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Share of charges declined with 402 (0..=1).
    #[arg(long, default_value_t = 0.0)]
    decline_rate: f64,
    /// Share of charges recorded, then answered by closing the connection (0..=1).
    #[arg(long, default_value_t = 0.0)]
    drop_after_commit_rate: f64,
    /// Share of charges delayed by --spike-ms (latency spikes, e.g. beyond a worker's lease).
    #[arg(long, default_value_t = 0.0)]
    spike_rate: f64,
    /// Length of a latency spike in milliseconds.
    #[arg(long, default_value_t = 5000)]
    spike_ms: u64,
    /// The ledger file (JSON lines), kept across restarts.
    #[arg(long, default_value = "billing-ledger.jsonl")]
    ledger: PathBuf,
    /// Seed of the fault dice, for repeatable runs.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("billing-sim: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("billing-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let faults = faults::Faults::new(
        args.fail_rate,
        args.decline_rate,
        args.drop_after_commit_rate,
        args.seed,
    )?
    .with_spikes(args.spike_rate, Duration::from_millis(args.spike_ms))?;
    let ledger = ledger::Ledger::open(&args.ledger).map_err(|e| e.to_string())?;
    let app = Arc::new(api::App {
        ledger: std::sync::Mutex::new(ledger),
        idempotency: args.idempotency == OnOff::On,
        latency: Duration::from_millis(args.latency_ms),
        faults,
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("billing-sim listening on http://{addr}");
    server::serve(listener, app, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    } else {
        let _ = tokio::signal::ctrl_c().await;
    }
}
