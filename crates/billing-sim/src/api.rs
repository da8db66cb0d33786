//! The HTTP contract.
//!
//! - `POST /v1/charges` `{"invoice_id", "customer_id", "amount_cents", "currency"}`,
//!   optional `Idempotency-Key`: `201` with the charge; a replayed key `200` with
//!   the original charge, or `409` if the body differs; `400` invalid body; `503`
//!   simulated outage; `402` simulated decline; or, after recording, no answer at all.
//! - `GET /v1/charges[?invoice_id=N]` → `{"data": [charges]}`.
//! - `GET /v1/stats` → charge and duplicate counts, and the faults injected so far.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{Fault, Faults};
use crate::ledger::{Charge, Ledger};
use crate::server::ConnectionKill;

/// Shared state of the simulator.
pub struct App {
    /// All charges.
    pub ledger: Mutex<Ledger>,
    /// Honour idempotency keys.
    pub idempotency: bool,
    /// Added latency per charge.
    pub latency: Duration,
    /// Fault dice.
    pub faults: Faults,
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/charges", get(list).post(create))
        .route("/v1/stats", get(stats))
        .with_state(app)
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "message": message.into()}})),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct ChargeRequest {
    invoice_id: Value,
    customer_id: Value,
    amount_cents: Value,
    currency: Value,
}

/// Checks the body; returns the charge it asks for.
fn validate(body: &[u8]) -> Result<Charge, String> {
    let req: ChargeRequest = serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
    let invoice_id = req
        .invoice_id
        .as_i64()
        .filter(|n| *n > 0)
        .ok_or("invoice_id must be a positive integer")?;
    let customer_id = req
        .customer_id
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or("customer_id must be a non-empty string")?;
    let amount_cents = req
        .amount_cents
        .as_i64()
        .filter(|n| *n > 0)
        .ok_or("amount_cents must be a positive integer")?;
    let currency = req
        .currency
        .as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .ok_or("currency must be a 3-letter ISO 4217 code")?;
    Ok(Charge {
        id: String::new(),
        invoice_id,
        customer_id: customer_id.to_owned(),
        amount_cents,
        currency: currency.to_owned(),
        idempotency_key: None,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

fn same_request(a: &Charge, b: &Charge) -> bool {
    a.invoice_id == b.invoice_id
        && a.customer_id == b.customer_id
        && a.amount_cents == b.amount_cents
        && a.currency == b.currency
}

async fn create(
    State(app): State<Arc<App>>,
    kill: Option<Extension<ConnectionKill>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut charge = match validate(&body) {
        Ok(c) => c,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_request", message),
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(k)) if !k.is_empty() && k.len() <= 255 => Some(k.to_owned()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "bad Idempotency-Key header",
            )
        }
        None => None,
    };
    let delay = app.latency + app.faults.spike();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match app.faults.before_charge() {
        Fault::Unavailable => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "simulated outage; try again",
            )
        }
        Fault::Decline => {
            return error(
                StatusCode::PAYMENT_REQUIRED,
                "card_declined",
                "the card was declined",
            )
        }
        _ => {}
    }
    charge.idempotency_key = key.clone();
    let recorded = {
        let mut ledger = match app.ledger.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if app.idempotency {
            if let Some(previous) = key.as_deref().and_then(|k| ledger.by_key(k)) {
                return if same_request(previous, &charge) {
                    (StatusCode::OK, Json(previous.clone())).into_response()
                } else {
                    error(
                        StatusCode::CONFLICT,
                        "idempotency_conflict",
                        "this Idempotency-Key was used with a different request",
                    )
                };
            }
        }
        match ledger.record(charge) {
            Ok(c) => c,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "ledger", e.to_string()),
        }
    };
    if app.faults.after_charge() == Fault::DropAfterCommit {
        if let Some(Extension(kill)) = kill {
            kill.0.cancel();
            std::future::pending::<()>().await;
        }
    }
    (StatusCode::CREATED, Json(recorded)).into_response()
}

async fn list(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let invoice = match query.get("invoice_id").map(|v| v.parse::<i64>()) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "invoice_id must be an integer",
            )
        }
        None => None,
    };
    let ledger = match app.ledger.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    let data: Vec<&Charge> = ledger
        .all()
        .iter()
        .filter(|c| invoice.is_none_or(|id| c.invoice_id == id))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    let ledger = match app.ledger.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    let mut per_invoice: HashMap<i64, u64> = HashMap::new();
    for c in ledger.all() {
        *per_invoice.entry(c.invoice_id).or_default() += 1;
    }
    let duplicated = per_invoice.values().filter(|&&n| n > 1).count();
    let extra: u64 = per_invoice.values().map(|n| n.saturating_sub(1)).sum();
    Json(json!({
        "charges": ledger.all().len(),
        "invoices_charged": per_invoice.len(),
        "invoices_charged_more_than_once": duplicated,
        "duplicate_charges": extra,
        "faults_injected": app.faults.injected(),
    }))
    .into_response()
}
