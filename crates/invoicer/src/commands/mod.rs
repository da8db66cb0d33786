//! One function per subcommand.

pub mod demo;
pub mod failover;
mod node;

use crate::audit::audit;
use crate::billing::BillingClient;
use crate::cli::{Cli, Command, Format, OnOff, Strategy};
use crate::db;
use crate::invoice::NewInvoice;
use crate::strategies;
use crate::sweep::sweep;

/// How long a billing call may take before its outcome counts as unknown.
const BILLING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Demo(mut args) = cli.command {
        args.reconcile = cli.reconcile;
        return demo::run(&cli.database_url, args).await;
    }
    if let Command::Chaos(mut args) = cli.command {
        args.reconcile = cli.reconcile;
        return demo::chaos(&cli.database_url, args).await;
    }
    let (db, store) = db::open(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    if matches!(cli.command, Command::Migrate) {
        store.migrate().await.map_err(|e| e.to_string())?;
        db.migrate().await.map_err(|e| e.to_string())?;
        println!("schema is current");
        return Ok(());
    }
    store
        .check_schema()
        .await
        .map_err(|e| format!("{e} (run `invoicer migrate`)"))?;
    let billing = BillingClient::new(&cli.billing_url, BILLING_TIMEOUT)?;
    let idempotency = cli.provider_idempotency == OnOff::On;
    let reconcile = cli.reconcile == OnOff::On;
    match cli.command {
        Command::Migrate | Command::Demo(_) | Command::Chaos(_) => Ok(()),
        Command::CreateInvoices(args) => {
            let mut rng = args.seed.map(fastrand::Rng::with_seed).unwrap_or_default();
            let currencies = ["EUR", "USD", "GBP"];
            let invoices: Vec<NewInvoice> = (0..args.count)
                .map(|_| NewInvoice {
                    customer_id: format!("cus_{:04}", rng.u32(0..args.customers.max(1))),
                    amount_cents: rng.i64(100..100_000),
                    currency: currencies[rng.usize(..currencies.len())].into(),
                    due_in_days: args.due_in_days,
                })
                .collect();
            let ids = db.insert(&invoices).await.map_err(|e| e.to_string())?;
            println!("created {} invoices", ids.len());
            Ok(())
        }
        Command::CreateInvoice(args) => {
            let invoice = NewInvoice {
                customer_id: args.customer,
                amount_cents: args.amount_cents,
                currency: args.currency,
                due_in_days: args.due_in_days,
            };
            invoice.validate()?;
            let ids = db.insert(&[invoice]).await.map_err(|e| e.to_string())?;
            println!("{}", ids[0]);
            Ok(())
        }
        Command::Sweep => {
            let report = sweep(&db, &store, cli.days_ahead, !idempotency).await?;
            println!(
                "{} invoices due, {} send jobs enqueued",
                report.due, report.enqueued
            );
            Ok(())
        }
        Command::Server(args) => {
            let client = node::client(node::NodeOptions {
                db,
                store,
                billing,
                concurrency: args.concurrency,
                name: args.name,
                idempotency,
                reconcile,
                lease_secs: args.lease_secs,
                sweep_cron: Some(args.sweep_cron),
                days_ahead: cli.days_ahead,
            })?;
            client.run_until(oncely::worker::shutdown_signal()).await;
            Ok(())
        }
        Command::BillPending(args) => {
            let report = match args.strategy {
                Strategy::Naive => strategies::naive(&db, &billing, cli.days_ahead)
                    .await
                    .map_err(|e| e.to_string())?,
                Strategy::Nowait => strategies::nowait(&db, &billing, cli.days_ahead)
                    .await
                    .map_err(|e| e.to_string())?,
                Strategy::Oncely => {
                    let client = node::client(node::NodeOptions {
                        db: db.clone(),
                        store: store.clone(),
                        billing,
                        concurrency: args.concurrency,
                        name: args.name,
                        idempotency,
                        reconcile,
                        lease_secs: args.lease_secs,
                        sweep_cron: None,
                        days_ahead: cli.days_ahead,
                    })?;
                    node::bill_pending(
                        &db,
                        &store,
                        &client,
                        cli.days_ahead,
                        !idempotency,
                        !idempotency && reconcile,
                    )
                    .await?
                }
            };
            let line = serde_json::json!({"strategy": args.strategy, "billed": report.billed, "errors": report.errors, "fenced": report.fenced, "in_doubt": report.in_doubt, "stopped_at_deadline": report.stopped_at_deadline});
            println!("{line}");
            Ok(())
        }
        Command::Audit(format) => {
            let result = audit(&db, &store, &billing).await?;
            match format.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?
                ),
                Format::Table => {
                    println!("invoices                  {}", result.invoices);
                    for (status, n) in &result.by_status {
                        println!("  {status:<23} {n}");
                    }
                    println!("charges at the provider   {}", result.charges);
                    println!(
                        "invoices charged twice+   {}",
                        result.invoices_charged_twice_or_more
                    );
                    println!("duplicate charges         {}", result.duplicate_charges);
                    println!("sent without a charge     {}", result.sent_without_charge);
                    println!(
                        "charged, not marked sent  {}",
                        result.charged_not_marked_sent
                    );
                    println!("in doubt                  {}", result.in_doubt);
                    println!("still open                {}", result.open);
                    println!(
                        "verdict                   {}",
                        if result.clean() {
                            "clean: each invoice charged at most once"
                        } else {
                            "NOT CLEAN"
                        }
                    );
                }
            }
            Ok(())
        }
    }
}
