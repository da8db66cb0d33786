//! `oncely`: the command line of oncely.
//!
//! Layout: [`cli`] declares the arguments (clap), [`commands`] has one module
//! per subcommand, [`output`] renders tables, [`error`] maps failures to a
//! message on stderr and a non-zero exit code. Every subcommand reaches the
//! database only through the oncely library.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod error;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_logs(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oncely: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`oncely jobs list | head`): nothing to say.
        Err(error::CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oncely: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

fn init_logs(verbose: u8, format: cli::LogFormat) {
    let default = match verbose {
        0 => "oncely=info,oncely_cli=info",
        1 => "oncely=debug,oncely_cli=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONCELY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Text => logs.with_target(false).init(),
        cli::LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
