//! The send job (`invoices:send`): charges one invoice with the job's
//! idempotency key, then marks it sent and completes the job in one
//! transaction, fenced on the job's token.

use async_trait::async_trait;
use oncely::{JobContext, JobError, Worker};
use serde::{Deserialize, Serialize};

use crate::billing::{BillingClient, ChargeError};
use crate::db::{Fenced, InvoiceDb};
use crate::invoice::Status;

/// Kind name of send jobs.
pub const KIND: &str = "invoices:send";

/// Queue of the invoicer's jobs.
pub const QUEUE: &str = "invoices";

/// Args of a send job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendArgs {
    /// The invoice to charge.
    pub invoice_id: i64,
}

/// Unique key of an invoice's send job: racing sweeps make one job.
pub fn unique_key(invoice_id: i64) -> String {
    format!("invoice:{invoice_id}")
}

/// Runs send jobs.
#[derive(Clone)]
pub struct SendWorker {
    /// The invoices table.
    pub db: InvoiceDb,
    /// The provider.
    pub billing: BillingClient,
    /// Send the job's idempotency key with each charge.
    pub idempotency: bool,
}

#[async_trait]
impl Worker for SendWorker {
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        let args: SendArgs = ctx.args()?;
        let invoice = match self
            .db
            .get(args.invoice_id)
            .await
            .map_err(JobError::retry)?
        {
            Some(invoice) => invoice,
            None => {
                return Err(JobError::discard(format!(
                    "invoice {} does not exist",
                    args.invoice_id
                )))
            }
        };
        if matches!(
            invoice.status,
            Status::Sent | Status::Failed | Status::InDoubt
        ) {
            return Ok(()); // Someone already finished it; nothing to charge.
        }
        if self
            .db
            .mark_sending(invoice.id, ctx.token())
            .await
            .map_err(JobError::retry)?
            == Fenced::Refused
        {
            return Err(JobError::retry("a newer attempt owns this invoice"));
        }
        let key = self.idempotency.then(|| ctx.idempotency_key().to_owned());
        match self.billing.charge(&invoice, key.as_deref()).await {
            Ok(charge) => {
                match self
                    .db
                    .mark_sent_and_complete(invoice.id, &charge.id, ctx.fence())
                    .await
                    .map_err(JobError::retry)?
                {
                    Fenced::Done => Ok(()),
                    Fenced::Refused => Err(JobError::retry(format!(
                        "charged ({}) but a newer attempt owns the invoice",
                        charge.id
                    ))),
                }
            }
            Err(ChargeError::Refused { status, message }) => {
                let reason = format!("provider refused ({status}): {message}");
                self.db
                    .mark_failed(invoice.id, ctx.token(), &reason)
                    .await
                    .map_err(JobError::retry)?;
                Err(JobError::discard(reason))
            }
            Err(e @ ChargeError::Transient(_)) => Err(JobError::retry(e)),
            Err(e @ ChargeError::Uncertain(_)) => Err(JobError::retry(e)),
        }
    }
}
