//! The send job (`invoices:send`): charges one invoice with the invoice's
//! idempotency key, then marks it sent and completes the job in one
//! transaction, fenced on the job's token.
//!
//! Invariants: the idempotency key is derived from the invoice, so it is the
//! same for every job ever created for it (an operator's cancel, a discard
//! and the next sweep's new job included); an invoice found `sending` — an
//! earlier attempt or job took it and never recorded the outcome — is looked
//! up at the provider before any new charge, and is marked sent with the
//! charge found instead of being charged again.

use async_trait::async_trait;
use oncely::worker::{EffectPolicy, Reconciliation};
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

/// The idempotency key of every charge of an invoice: stable across attempts
/// and across every job ever created for the invoice.
pub fn idempotency_key(invoice_id: i64) -> String {
    format!("invoice-{invoice_id}")
}

/// Runs send jobs.
#[derive(Clone)]
pub struct SendWorker {
    /// The invoices table.
    pub db: InvoiceDb,
    /// The provider.
    pub billing: BillingClient,
    /// The provider honours idempotency keys (send the job's key).
    pub idempotency: bool,
    /// Without idempotency: settle in-doubt sends by asking the provider.
    pub reconcile: bool,
}

impl SendWorker {
    /// The provider's charge of an invoice that an earlier attempt took,
    /// if there is one. Nothing has been charged by this attempt yet, so a
    /// provider that cannot answer now means "try again later".
    async fn earlier_charge(&self, invoice_id: i64) -> Result<Option<String>, JobError> {
        let charges = self.billing.charges_for(Some(invoice_id)).await.map_err(|e| {
            JobError::retry(format!(
                "an earlier attempt took this invoice; asking the provider whether it was charged failed: {e}"
            ))
        })?;
        Ok(charges.into_iter().next().map(|c| c.id))
    }

    /// The effect policy the provider allows.
    pub fn effect_policy(idempotency: bool, reconcile: bool) -> EffectPolicy {
        match (idempotency, reconcile) {
            (true, _) => EffectPolicy::Idempotent,
            (false, true) => EffectPolicy::Reconcilable,
            (false, false) => EffectPolicy::AtMostOnce,
        }
    }
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
        // `sending`: an earlier attempt (of this job, or of an earlier job that
        // was cancelled or gave up) took it and may have charged it.
        let taken_before = invoice.status == Status::Sending;
        if self
            .db
            .mark_sending(invoice.id, ctx.token())
            .await
            .map_err(JobError::retry)?
            == Fenced::Refused
        {
            return Err(JobError::retry("a newer attempt owns this invoice"));
        }
        if taken_before {
            if let Some(charge) = self.earlier_charge(invoice.id).await? {
                return match self
                    .db
                    .mark_sent_and_complete(invoice.id, &charge, ctx.fence())
                    .await
                {
                    Ok(Fenced::Done) => Ok(()),
                    Ok(Fenced::Refused) => {
                        Err(JobError::retry("a newer attempt owns this invoice"))
                    }
                    Err(e) => Err(JobError::retry(e)),
                };
            }
        }
        let key = self.idempotency.then(|| idempotency_key(invoice.id));
        // A server paused past its lease (a zombie) must not charge.
        ctx.check_lease()?;
        match self.billing.charge(&invoice, key.as_deref()).await {
            Ok(charge) => {
                match self
                    .db
                    .mark_sent_and_complete(invoice.id, &charge.id, ctx.fence())
                    .await
                {
                    Ok(Fenced::Done) => Ok(()),
                    Ok(Fenced::Refused) => Err(JobError::retry(format!(
                        "charged ({}) but a newer attempt owns the invoice",
                        charge.id
                    ))),
                    // Charged, but not recorded: a repeat is safe only with a key.
                    Err(e) if self.idempotency => Err(JobError::retry(e)),
                    Err(e) => Err(JobError::InDoubt(format!(
                        "charged ({}) but recording it failed: {e}",
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
            // With an idempotency key a repeat is safe; without one it could bill twice.
            Err(e @ ChargeError::Uncertain(_)) if self.idempotency => Err(JobError::retry(e)),
            Err(e @ ChargeError::Uncertain(_)) => Err(JobError::InDoubt(e.to_string())),
        }
    }

    fn policy(&self) -> EffectPolicy {
        SendWorker::effect_policy(self.idempotency, self.reconcile)
    }

    /// Asks the provider whether the invoice was charged. Runs only after the
    /// lost attempt's lease ended, so its request has had time to land.
    async fn reconcile(&self, ctx: JobContext) -> Reconciliation {
        let Ok(args) = ctx.args::<SendArgs>() else {
            return Reconciliation::Unknown("malformed args".into());
        };
        let charges = match self.billing.charges_for(Some(args.invoice_id)).await {
            Ok(c) => c,
            Err(e) => return Reconciliation::Unknown(e),
        };
        let Some(charge) = charges.first() else {
            return Reconciliation::NotDone;
        };
        match self
            .db
            .mark_sent_and_complete(args.invoice_id, &charge.id, ctx.fence())
            .await
        {
            Ok(Fenced::Done) => Reconciliation::Done,
            Ok(Fenced::Refused) => match self.db.get(args.invoice_id).await {
                Ok(Some(inv)) if inv.status == Status::Sent => Reconciliation::Done,
                Ok(_) => Reconciliation::Unknown("the invoice could not be marked sent".into()),
                Err(e) => Reconciliation::Unknown(e.to_string()),
            },
            Err(e) => Reconciliation::Unknown(e.to_string()),
        }
    }
}
