//! The billing provider's client (the billing-sim contract).
//!
//! Every answer is sorted into what the caller can do about it: a charge
//! (proven by a well-formed body for this invoice), a permanent refusal, a
//! transient failure (nothing was charged), or an uncertain one (the charge
//! may have happened: a timeout, a dropped connection, a malformed success).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::invoice::Invoice;

/// A charge as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// The invoice it pays.
    pub invoice_id: i64,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
}

/// What went wrong with a charge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    /// The provider refused for good (400 invalid, 402 declined, 409 key conflict).
    #[error("refused by the provider ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// Nothing was charged; trying again later may work (503, 5xx, 429, connect refused).
    #[error("provider unavailable: {0}")]
    Transient(String),
    /// The charge may or may not have happened (timeout, dropped connection,
    /// malformed success body).
    #[error("outcome unknown: {0}")]
    Uncertain(String),
}

/// A client of one provider.
#[derive(Clone)]
pub struct BillingClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Serialize)]
struct ChargeRequest<'a> {
    invoice_id: i64,
    customer_id: &'a str,
    amount_cents: i64,
    currency: &'a str,
}

impl BillingClient {
    /// A client for the provider at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(BillingClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Charges `invoice`, with an idempotency key when given.
    pub async fn charge(
        &self,
        invoice: &Invoice,
        idempotency_key: Option<&str>,
    ) -> Result<Charge, ChargeError> {
        let mut request =
            self.http
                .post(format!("{}/v1/charges", self.base))
                .json(&ChargeRequest {
                    invoice_id: invoice.id,
                    customer_id: &invoice.customer_id,
                    amount_cents: invoice.amount_cents,
                    currency: &invoice.currency,
                });
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(ChargeError::Transient(format!("cannot connect: {e}")))
            }
            Err(e) => return Err(ChargeError::Uncertain(e.to_string())),
        };
        let status = response.status().as_u16();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) if (200..300).contains(&status) => {
                return Err(ChargeError::Uncertain(format!("reading the answer: {e}")))
            }
            Err(e) => return Err(ChargeError::Transient(format!("reading the answer: {e}"))),
        };
        match status {
            200 | 201 => {
                let charge: Charge = serde_json::from_slice(&body)
                    .map_err(|e| ChargeError::Uncertain(format!("malformed charge: {e}")))?;
                if charge.invoice_id != invoice.id || !charge.id.starts_with("ch_") {
                    return Err(ChargeError::Uncertain(format!(
                        "charge {} does not match invoice {}",
                        charge.id, invoice.id
                    )));
                }
                Ok(charge)
            }
            400 | 402 | 409 | 422 => Err(ChargeError::Refused {
                status,
                message: error_message(&body),
            }),
            _ => Err(ChargeError::Transient(format!(
                "status {status}: {}",
                error_message(&body)
            ))),
        }
    }

    /// The faults the simulator injected so far (`GET /v1/stats`), so a run
    /// can show its provider faults really happened.
    pub async fn faults_injected(&self) -> Result<FaultsInjected, String> {
        #[derive(Deserialize)]
        struct Stats {
            faults_injected: FaultsInjected,
        }
        let response = self
            .http
            .get(format!("{}/v1/stats", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("provider stats: status {}", response.status()));
        }
        let stats: Stats = response
            .json()
            .await
            .map_err(|e| format!("provider stats: {e}"))?;
        Ok(stats.faults_injected)
    }

    /// Every charge the provider made for `invoice_id` (for reconciliation and audits).
    pub async fn charges_for(&self, invoice_id: Option<i64>) -> Result<Vec<Charge>, String> {
        let mut url = format!("{}/v1/charges", self.base);
        if let Some(id) = invoice_id {
            url.push_str(&format!("?invoice_id={id}"));
        }
        #[derive(Deserialize)]
        struct List {
            data: Vec<Charge>,
        }
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("listing charges: status {}", response.status()));
        }
        let list: List = response
            .json()
            .await
            .map_err(|e| format!("listing charges: {e}"))?;
        Ok(list.data)
    }
}

fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// Faults the billing simulator injected, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsInjected {
    /// 503 answers without a charge.
    pub unavailable: u64,
    /// 402 answers without a charge.
    pub declined: u64,
    /// Charges recorded, then the connection closed without an answer.
    pub dropped_after_commit: u64,
    /// Charges delayed by a latency spike.
    pub latency_spikes: u64,
}
