//! The audit: the database against the provider's ledger.

use std::collections::HashMap;

use serde::Serialize;

use crate::billing::BillingClient;
use crate::db::InvoiceDb;

/// What the audit found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Audit {
    /// Invoices in the database.
    pub invoices: u64,
    /// By status.
    pub by_status: std::collections::BTreeMap<String, u64>,
    /// Charges in the provider's ledger.
    pub charges: u64,
    /// Invoices charged more than once.
    pub invoices_charged_twice_or_more: u64,
    /// Charges beyond the first of each invoice.
    pub duplicate_charges: u64,
    /// Invoices marked sent with no charge at the provider.
    pub sent_without_charge: u64,
    /// Invoices charged at the provider but not marked sent.
    pub charged_not_marked_sent: u64,
    /// Invoices in doubt.
    pub in_doubt: u64,
    /// Invoices not sent, not failed, not in doubt.
    pub open: u64,
    /// Charges for invoices the database does not have.
    pub unknown_charges: u64,
}

impl Audit {
    /// True when every invoice was charged at most once and the books agree.
    pub fn clean(&self) -> bool {
        self.duplicate_charges == 0
            && self.sent_without_charge == 0
            && self.charged_not_marked_sent == 0
    }
}

/// Compares the database with the provider's ledger. An invoice whose send
/// job is in doubt counts as in doubt (not open, not inconsistent).
pub async fn audit(
    db: &InvoiceDb,
    store: &oncely::Store,
    billing: &BillingClient,
) -> Result<Audit, String> {
    let invoices = db.all().await.map_err(|e| e.to_string())?;
    let doubtful = crate::sweep::in_doubt_invoices(store).await?;
    let charges = billing.charges_for(None).await?;
    let mut per_invoice: HashMap<i64, u64> = HashMap::new();
    for c in &charges {
        *per_invoice.entry(c.invoice_id).or_default() += 1;
    }
    let mut audit = Audit {
        invoices: invoices.len() as u64,
        charges: charges.len() as u64,
        ..Audit::default()
    };
    for (id, status, _) in &invoices {
        *audit.by_status.entry(status.clone()).or_default() += 1;
        let n = per_invoice.get(id).copied().unwrap_or(0);
        if doubtful.contains(id) && status != "sent" {
            audit.in_doubt += 1;
            continue;
        }
        match status.as_str() {
            "sent" if n == 0 => audit.sent_without_charge += 1,
            "sent" => {}
            "in_doubt" => audit.in_doubt += 1,
            "pending" | "sending" => audit.open += 1,
            _ => {}
        }
        if n > 0 && status != "sent" && status != "in_doubt" {
            audit.charged_not_marked_sent += 1;
        }
    }
    // Once and only once, checked with oncely's verifier: each invoice
    // charged at most once, and every charge for an invoice we know.
    let verdict = oncely::verify::verify(
        invoices.iter().map(|(id, _, _)| *id),
        charges.iter().map(|c| c.invoice_id),
        doubtful.iter().copied(),
    );
    audit.invoices_charged_twice_or_more = verdict.duplicated.len() as u64;
    audit.duplicate_charges = verdict.extra_effects as u64;
    audit.unknown_charges = verdict.unexpected.len() as u64;
    Ok(audit)
}
