//! Invoices: the model, its statuses, and what is accepted at creation.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// ISO 4217 codes accepted at creation.
pub const CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "INR", "JPY",
    "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "TRY", "USD", "ZAR",
];

/// Where an invoice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting to be sent.
    Pending,
    /// An attempt is sending it.
    Sending,
    /// Charged; the provider's charge id is recorded.
    Sent,
    /// It may or may not have been charged; waits for reconciliation or a person.
    InDoubt,
    /// The provider refused it for good (reason recorded).
    Failed,
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pending" => Status::Pending,
            "sending" => Status::Sending,
            "sent" => Status::Sent,
            "in_doubt" => Status::InDoubt,
            "failed" => Status::Failed,
            other => return Err(format!("unknown invoice status {other:?}")),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::InDoubt => "in_doubt",
            Status::Failed => "failed",
        })
    }
}

/// An invoice row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invoice {
    /// Id.
    pub id: i64,
    /// Who pays.
    pub customer_id: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// Where it is.
    pub status: Status,
    /// The provider's charge, once sent.
    pub provider_charge_id: Option<String>,
    /// Why the provider refused it.
    pub failure_reason: Option<String>,
    /// Largest oncely token that wrote it.
    pub fence: i64,
}

/// An invoice to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvoice {
    /// Who pays.
    pub customer_id: String,
    /// Amount in minor units (> 0).
    pub amount_cents: i64,
    /// ISO 4217 (one of [`CURRENCIES`]).
    pub currency: String,
    /// Due this many days from today (database clock).
    pub due_in_days: i32,
}

impl NewInvoice {
    /// Refuses what a billing table must never hold.
    pub fn validate(&self) -> Result<(), String> {
        if self.customer_id.is_empty() || self.customer_id.len() > 255 {
            return Err("customer id must be 1 to 255 characters".into());
        }
        if self.amount_cents <= 0 {
            return Err(format!("amount {} must be positive", self.amount_cents));
        }
        if !CURRENCIES.contains(&self.currency.as_str()) {
            return Err(format!(
                "unknown currency {:?}: use an ISO 4217 code such as EUR or USD",
                self.currency
            ));
        }
        if !(-3650..=3650).contains(&self.due_in_days) {
            return Err("due date must be within 10 years of today".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(amount: i64, currency: &str) -> NewInvoice {
        NewInvoice {
            customer_id: "c".into(),
            amount_cents: amount,
            currency: currency.into(),
            due_in_days: 0,
        }
    }

    #[test]
    fn refuses_bad_amounts_and_currencies() {
        assert!(invoice(100, "EUR").validate().is_ok());
        assert!(invoice(0, "EUR").validate().is_err());
        assert!(invoice(-5, "EUR").validate().is_err());
        assert!(invoice(100, "XYZ").validate().is_err());
        assert!(invoice(100, "eur").validate().is_err());
    }
}
