//! An invoicer node on oncely: the send and sweep workers on the `invoices`
//! queue, and (for `server`) the daily schedule.

use std::time::Duration;

use oncely::schedule::{Schedule, Spec};
use oncely::worker::ClientConfig;
use oncely::{Client, Store};

use crate::billing::BillingClient;
use crate::db::InvoiceDb;
use crate::send::{SendWorker, KIND, QUEUE};
use crate::strategies::StrategyReport;
use crate::sweep::{sweep, SweepWorker, SCHEDULE, SWEEP_KIND};

/// What a node needs.
pub struct NodeOptions {
    pub db: InvoiceDb,
    pub store: Store,
    pub billing: BillingClient,
    pub concurrency: u32,
    pub name: Option<String>,
    pub idempotency: bool,
    pub reconcile: bool,
    pub lease_secs: f64,
    pub sweep_cron: Option<String>,
    pub days_ahead: i32,
}

/// Builds the oncely client of a node.
pub fn client(o: NodeOptions) -> Result<Client, String> {
    let lease = Duration::try_from_secs_f64(o.lease_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or("--lease-secs must be positive")?;
    let mut config = ClientConfig::default().with_lease(lease);
    config.poll_interval = Duration::from_millis(200);
    config.rescue_every = Duration::from_secs(1).min(lease);
    config.leader.ttl = Duration::from_secs(3);
    config.backoff.base = Duration::from_millis(200);
    config.backoff.max = Duration::from_secs(10);
    if let Some(name) = o.name {
        config.worker_id = name;
    }
    let mut builder = Client::builder(o.store)
        .config(config)
        .queue(QUEUE, o.concurrency.max(1))
        .register(
            KIND,
            SendWorker {
                db: o.db.clone(),
                billing: o.billing,
                idempotency: o.idempotency,
                reconcile: o.reconcile,
            },
        )
        .register(
            SWEEP_KIND,
            SweepWorker {
                db: o.db,
                days_ahead: o.days_ahead,
                at_most_once: !o.idempotency,
            },
        );
    if let Some(cron) = o.sweep_cron {
        builder = builder.periodic(Schedule::new(
            SCHEDULE,
            Spec::cron(cron),
            QUEUE,
            SWEEP_KIND,
            serde_json::json!({}),
        ));
    }
    builder.build().map_err(|e| e.to_string())
}

/// How long [`bill_pending`] waits through database errors before giving up.
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// Runs the daily task now, then works until no due invoice is open. With
/// `reconciles`, in-doubt invoices count as open (their reconcile step will
/// settle them); without, they wait for a person and do not keep the node busy.
pub async fn bill_pending(
    db: &InvoiceDb,
    store: &Store,
    client: &Client,
    days: i32,
    at_most_once: bool,
    reconciles: bool,
) -> Result<StrategyReport, String> {
    // Work on jobs already there while the sweep adds the rest.
    let running = client.start();
    let sweeping = std::time::Instant::now();
    while let Err(e) = sweep(db, store, days, at_most_once).await {
        if sweeping.elapsed() >= DATABASE_PATIENCE {
            running.shutdown().await;
            return Err(e);
        }
        tracing::warn!(error = %e, "sweep failed; trying again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The client rides out a lost connection or a failover; so does this
    // wait, up to a limit.
    let mut failing_since: Option<std::time::Instant> = None;
    let result = loop {
        let open = match db.open_due(days).await {
            Ok(open) => {
                failing_since = None;
                Ok(open)
            }
            Err(e)
                if failing_since
                    .get_or_insert_with(std::time::Instant::now)
                    .elapsed()
                    < DATABASE_PATIENCE =>
            {
                tracing::warn!(error = %e, "cannot read the open invoices; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => Err(e),
        };
        match open {
            Ok(open) if open.is_empty() => break Ok(()),
            // In-doubt invoices are settled for this node only when nobody
            // will reconcile them (they wait for a person).
            Ok(_) if reconciles => {}
            Ok(open) => match crate::sweep::in_doubt_invoices(store).await {
                Ok(doubt) if open.iter().all(|id| doubt.contains(id)) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            },
            Err(e) => break Err(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running.shutdown().await;
    result?;
    let stats = client.stats().snapshot();
    Ok(StrategyReport {
        billed: stats.completed,
        errors: stats.retried + stats.discarded + stats.in_doubt,
        fenced: stats.lease_lost,
        in_doubt: stats.in_doubt,
        stopped_at_deadline: stats.stopped_at_deadline,
    })
}
