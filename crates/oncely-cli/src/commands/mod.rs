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
    // MariaDB/MySQL: the schema and the SQL API so far (no worker driver yet).
    if matches!(cli.command, Command::Migrate)
        && matches!(
            oncely::store::DatabaseUrl::parse(&cli.database_url),
            Ok(oncely::store::DatabaseUrl::MariaDb(_))
        )
    {
        let report = oncely::store::mariadb::migrate(&cli.database_url).await?;
        return say_migrated(&report);
    }
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
