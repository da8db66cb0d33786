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
mod telemetry;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let telemetry = match telemetry::init(cli.verbose, cli.log_format, cli.otlp_endpoint()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("oncely: {e}");
            return std::process::ExitCode::from(2);
        }
    };
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
    let result = runtime.block_on(commands::run(cli));
    telemetry.shutdown();
    match result {
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
