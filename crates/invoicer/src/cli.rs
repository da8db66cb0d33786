//! Arguments of `invoicer`.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The invoicing system from the story, built on oncely.
#[derive(Debug, Parser)]
#[command(name = "invoicer", version, about)]
pub struct Cli {
    /// Database URL: postgres://…, postgresql://…, mysql://…, mariadb://… or sqlite://PATH.
    #[arg(long, env = "ONCELY_DATABASE_URL", default_value = oncely::store::DatabaseUrl::DEFAULT, global = true)]
    pub database_url: String,
    /// The billing provider's base URL.
    #[arg(
        long,
        env = "INVOICER_BILLING_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub billing_url: String,
    /// Send invoices this many days before their due date.
    #[arg(long, default_value_t = 3, global = true)]
    pub days_ahead: i32,
    /// Does the provider honour idempotency keys? On: crashed sends are simply
    /// retried with the same key. Off: a send whose outcome is unknown goes in doubt.
    #[arg(long, value_enum, default_value_t = OnOff::On, global = true)]
    pub provider_idempotency: OnOff,
    /// With provider idempotency off: settle in-doubt sends by asking the
    /// provider (`GET /v1/charges?invoice_id=`). Off: they wait for a person.
    #[arg(long, value_enum, default_value_t = OnOff::On, global = true)]
    pub reconcile: OnOff,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the schema (oncely's and the invoices table).
    Migrate,
    /// Create random invoices.
    CreateInvoices(CreateArgs),
    /// Create one invoice.
    CreateInvoice(CreateOneArgs),
    /// A server node: the daily task on its schedule and the send workers, until SIGTERM.
    Server(ServerArgs),
    /// Run the daily task once now (enqueue send jobs for due invoices) and exit.
    Sweep,
    /// Run the daily task now on this node and work until no due invoice is left.
    BillPending(BillPendingArgs),
    /// Compare the database with the provider's ledger.
    Audit(FormatArg),
    /// The whole story in one command: the simulator, invoices, several servers, the audit.
    Demo(crate::commands::demo::DemoArgs),
    /// The crash-safety verifier: oncely on PostgreSQL or MariaDB under injected faults;
    /// exits non-zero if an invoice is charged twice or lost.
    Chaos(crate::commands::demo::DemoArgs),
}

/// `create-invoices`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// How many.
    #[arg(long, default_value_t = 1000)]
    pub count: u32,
    /// Due this many days from today.
    #[arg(long, default_value_t = 0)]
    pub due_in_days: i32,
    /// Spread over this many customers.
    #[arg(long, default_value_t = 100)]
    pub customers: u32,
    /// Seed for repeatable amounts.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `create-invoice`.
#[derive(Debug, Args)]
pub struct CreateOneArgs {
    /// Customer id.
    #[arg(long)]
    pub customer: String,
    /// Amount in minor units (> 0).
    #[arg(long, allow_negative_numbers = true)]
    pub amount_cents: i64,
    /// ISO 4217 currency.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// Due this many days from today.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub due_in_days: i32,
}

/// `server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Send jobs run at once on this server.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Name of this node (recorded on jobs and in leader election).
    #[arg(long)]
    pub name: Option<String>,
    /// When the daily task runs (cron, UTC).
    #[arg(long, default_value = "0 6 * * *")]
    pub sweep_cron: String,
    /// Lease of send jobs in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub lease_secs: f64,
}

/// `bill-pending`.
#[derive(Debug, Args)]
pub struct BillPendingArgs {
    /// How to bill.
    #[arg(long, value_enum, default_value_t = Strategy::Oncely)]
    pub strategy: Strategy,
    /// Send jobs run at once (oncely strategy).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Name of this node.
    #[arg(long)]
    pub name: Option<String>,
    /// Lease of send jobs in seconds (oncely strategy).
    #[arg(long, default_value_t = 30.0)]
    pub lease_secs: f64,
}

/// Billing strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Every server bills every pending invoice (the post's starting point).
    Naive,
    /// `FOR UPDATE NOWAIT` across the API call (the post's fix; PostgreSQL only).
    Nowait,
    /// oncely: unique send jobs, fenced leases, idempotency keys.
    Oncely,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// A `--format` flag.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// For programs.
    Json,
}
