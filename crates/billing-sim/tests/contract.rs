//! The provider contract, tested against the real binary over loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

struct Sim {
    child: Child,
    url: String,
    dir: Option<tempfile::TempDir>,
    ledger: std::path::PathBuf,
}

impl Sim {
    fn start(flags: &[&str]) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        Sim::start_with_ledger(flags, dir)
    }

    fn start_with_ledger(flags: &[&str], dir: tempfile::TempDir) -> Sim {
        let ledger = dir.path().join("ledger.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_billing-sim"))
            .args(flags)
            .arg("--ledger")
            .arg(&ledger)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start billing-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("banner");
        let url = line.trim().rsplit(' ').next().expect("url").to_owned();
        Sim {
            child,
            url,
            dir: Some(dir),
            ledger,
        }
    }

    /// Kills the simulator, keeping its ledger directory.
    fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("dir")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(invoice: i64) -> Value {
    json!({"invoice_id": invoice, "customer_id": "cus_1", "amount_cents": 1250, "currency": "EUR"})
}

async fn post(sim: &Sim, body: &Value, key: Option<&str>) -> Result<(u16, Value), reqwest::Error> {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/charges", sim.url))
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

async fn charges(sim: &Sim, invoice: Option<i64>) -> Vec<Value> {
    let url = match invoice {
        Some(id) => format!("{}/v1/charges?invoice_id={id}", sim.url),
        None => format!("{}/v1/charges", sim.url),
    };
    let v: Value = reqwest::get(url)
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    v["data"].as_array().expect("data").clone()
}

#[tokio::test]
async fn charge_replay_conflict_and_listing() {
    let sim = Sim::start(&[]);
    let (status, first) = post(&sim, &body(7), Some("key-7")).await.expect("post");
    assert_eq!(status, 201);
    assert!(first["id"].as_str().expect("id").starts_with("ch_"));
    for field in ["invoice_id", "customer_id", "amount_cents", "currency"] {
        assert_eq!(first[field], body(7)[field], "{field}");
    }
    assert_eq!(first["idempotency_key"], "key-7");
    assert!(chrono::DateTime::parse_from_rfc3339(
        first["created_at"].as_str().expect("created_at")
    )
    .is_ok());
    let (status, replay) = post(&sim, &body(7), Some("key-7")).await.expect("post");
    assert_eq!(
        (status, &replay),
        (200, &first),
        "replay returns the original charge"
    );
    let (status, conflict) = post(&sim, &body(8), Some("key-7")).await.expect("post");
    assert_eq!(status, 409);
    assert_eq!(conflict["error"]["type"], "idempotency_conflict");
    let (status, _) = post(&sim, &body(8), None).await.expect("post");
    assert_eq!(status, 201);
    assert_eq!(charges(&sim, Some(7)).await.len(), 1);
    assert_eq!(charges(&sim, None).await.len(), 2);
}

#[tokio::test]
async fn invalid_bodies_are_400() {
    let sim = Sim::start(&[]);
    for bad in [
        json!({"invoice_id": 1}),
        json!({"invoice_id": -1, "customer_id": "c", "amount_cents": 1, "currency": "EUR"}),
        json!({"invoice_id": 1, "customer_id": "", "amount_cents": 1, "currency": "EUR"}),
        json!({"invoice_id": 1, "customer_id": "c", "amount_cents": 0, "currency": "EUR"}),
        json!({"invoice_id": 1, "customer_id": "c", "amount_cents": 1, "currency": "euro"}),
        json!("not an object"),
    ] {
        let (status, err) = post(&sim, &bad, None).await.expect("post");
        assert_eq!(status, 400, "{bad}");
        assert_eq!(err["error"]["type"], "invalid_request");
    }
    assert!(charges(&sim, None).await.is_empty());
}

#[tokio::test]
async fn declines_and_outages_charge_nothing() {
    let declining = Sim::start(&["--decline-rate", "1"]);
    let (status, err) = post(&declining, &body(1), Some("k")).await.expect("post");
    assert_eq!(
        (status, err["error"]["type"].as_str()),
        (402, Some("card_declined"))
    );
    let down = Sim::start(&["--fail-rate", "1"]);
    let (status, _) = post(&down, &body(1), Some("k")).await.expect("post");
    assert_eq!(status, 503);
    assert!(charges(&declining, None).await.is_empty());
    assert!(charges(&down, None).await.is_empty());
}

#[tokio::test]
async fn drop_after_commit_records_the_charge_but_answers_nothing() {
    let sim = Sim::start(&["--drop-after-commit-rate", "1"]);
    let result = post(&sim, &body(3), Some("k3")).await;
    assert!(result.is_err(), "no response: {result:?}");
    let recorded = charges(&sim, Some(3)).await;
    assert_eq!(recorded.len(), 1, "the charge is in the ledger");
    assert_eq!(
        stats(&sim).await["faults_injected"]["dropped_after_commit"],
        1
    );
}

#[tokio::test]
async fn latency_spikes_delay_the_answer_and_are_counted() {
    let sim = Sim::start(&["--spike-rate", "1", "--spike-ms", "400"]);
    let started = std::time::Instant::now();
    let (status, _) = post(&sim, &body(4), Some("k4")).await.expect("post");
    assert_eq!(status, 201);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "answered after {:?}",
        started.elapsed()
    );
    let faults = &stats(&sim).await["faults_injected"];
    assert_eq!(
        (
            faults["latency_spikes"].as_u64(),
            faults["dropped_after_commit"].as_u64()
        ),
        (Some(1), Some(0))
    );
}

async fn stats(sim: &Sim) -> Value {
    reqwest::get(format!("{}/v1/stats", sim.url))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn without_idempotency_every_request_charges() {
    let sim = Sim::start(&["--idempotency", "off"]);
    for _ in 0..3 {
        assert_eq!(
            post(&sim, &body(5), Some("same-key"))
                .await
                .expect("post")
                .0,
            201
        );
    }
    assert_eq!(charges(&sim, Some(5)).await.len(), 3);
    assert_eq!(stats(&sim).await["duplicate_charges"], 2);
}

#[tokio::test]
async fn the_ledger_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Sim::start_with_ledger(&[], dir);
    let (_, first) = post(&sim, &body(9), Some("k9")).await.expect("post");
    let ledger = sim.ledger.clone();
    let dir = sim.stop();
    assert!(ledger.exists());
    let again = Sim::start_with_ledger(&[], dir);
    assert_eq!(charges(&again, None).await.len(), 1);
    let (status, replay) = post(&again, &body(9), Some("k9")).await.expect("post");
    assert_eq!(
        (status, replay),
        (200, first),
        "keys survive the restart too"
    );
}
