//! `invoicer`: the invoicing system from the story, built on oncely the way a
//! user would build theirs. It reaches storage only through the oncely
//! library, except for its own `invoices` table.
//!
//! Layout: [`invoice`] (model, validation), [`db`] (the invoices table, SQL
//! per backend), [`billing`] (the provider's client), [`sweep`] (the daily
//! task), [`send`] (the send job), [`strategies`] (the post's naive and
//! NOWAIT strategies, for contrast), [`audit`], and [`commands`].

#![forbid(unsafe_code)]

mod audit;
mod billing;
mod cli;
mod commands;
mod db;
mod invoice;
mod send;
mod strategies;
mod sweep;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("INVOICER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,invoicer=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("invoicer: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("invoicer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
