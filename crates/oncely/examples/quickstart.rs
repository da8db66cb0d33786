//! The library in a few lines: a typed job, a worker, an insert, a graceful stop.
//!
//! `cargo run -p oncely --example quickstart` (uses `quickstart.db` here, or
//! `ONCELY_DATABASE_URL`).

use std::time::Duration;

use oncely::{Client, JobError, NewJob};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SendInvoice {
    invoice_id: i64,
}

#[tokio::main]
async fn main() -> Result<(), oncely::Error> {
    let url =
        std::env::var("ONCELY_DATABASE_URL").unwrap_or_else(|_| "sqlite://quickstart.db".into());
    let store = oncely::connect(&url).await?;
    store.migrate().await?;

    let client = Client::builder(store)
        .queue("billing", 4)
        .register_fn("send_invoice", |ctx| async move {
            let args: SendInvoice = ctx.args()?;
            if ctx.is_cancelled() {
                return Err(JobError::retry("stopping"));
            }
            // Send `ctx.idempotency_key()` with the call; fence your own writes with `ctx.token()`.
            println!(
                "sending invoice {} (attempt {}, fence {}, key {})",
                args.invoice_id,
                ctx.attempt(),
                ctx.token(),
                ctx.idempotency_key()
            );
            Ok(())
        })
        .build()?;

    for invoice_id in 1..=3 {
        let job = NewJob::from_args("billing", "send_invoice", &SendInvoice { invoice_id })?
            .with_unique_key(format!("invoice:{invoice_id}"));
        client.insert(&job).await?;
    }
    client
        .run_until(tokio::time::sleep(Duration::from_secs(2)))
        .await;
    Ok(())
}
