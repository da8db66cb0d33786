//! One module per subcommand.

mod dashboard;
mod enqueue;
mod jobs;
mod queues;
mod schedule;
mod worker;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let store = oncely::connect(&cli.database_url).await?;
    if !matches!(cli.command, Command::Migrate) {
        store.check_schema().await?;
    }
    match cli.command {
        Command::Migrate => {
            let report = store.migrate().await?;
            say_migrated(&report)
        }
        Command::Enqueue(args) => enqueue::run(&store, args).await,
        Command::Worker(args) => worker::run(store, args).await,
        Command::Jobs(command) => jobs::run(&store, command).await,
        Command::Queues(args) => queues::run(&store, args).await,
        Command::Schedule(command) => schedule::run(&store, command).await,
        Command::Dashboard(args) => dashboard::run(store, args).await,
    }
}

fn say_migrated(report: &oncely::store::MigrationReport) -> Result<(), CliError> {
    if report.applied.is_empty() {
        crate::say!("schema is current (version {})", report.to);
    } else {
        crate::say!(
            "migrated schema from version {} to {} (applied {:?})",
            report.from,
            report.to,
            report.applied
        );
    }
    Ok(())
}
