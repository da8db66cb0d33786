//! The ledger: every charge ever made, appended to a JSON-lines file so it
//! survives restarts of the simulator, plus the idempotency-key index.
//!
//! Invariant: a charge is in the file before any response about it is sent.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_…`, unique.
    pub id: String,
    /// The invoice it pays.
    pub invoice_id: i64,
    /// The customer charged.
    pub customer_id: String,
    /// Amount in the currency's minor unit.
    pub amount_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The request's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

/// All charges and the file they are appended to.
pub struct Ledger {
    charges: Vec<Charge>,
    by_key: HashMap<String, usize>,
    file: File,
}

impl Ledger {
    /// Opens (or creates) the ledger file and loads its charges. A torn last
    /// line (a crash mid-write) is ignored; any other bad line is an error.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        let mut charges = Vec::new();
        let lines: Vec<String> = BufReader::new(File::open(path)?)
            .lines()
            .collect::<Result<_, _>>()?;
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Charge>(line) {
                Ok(charge) => charges.push(charge),
                Err(_) if i == last => break,
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "{}: line {}: {e}",
                        path.display(),
                        i + 1
                    )))
                }
            }
        }
        let by_key = charges
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.idempotency_key.clone().map(|k| (k, i)))
            .collect();
        Ok(Ledger {
            charges,
            by_key,
            file,
        })
    }

    /// The charge made earlier with this idempotency key.
    pub fn by_key(&self, key: &str) -> Option<&Charge> {
        self.by_key.get(key).and_then(|&i| self.charges.get(i))
    }

    /// Records a new charge (appended and flushed to the file first).
    pub fn record(&mut self, mut charge: Charge) -> std::io::Result<Charge> {
        charge.id = format!("ch_{:08}{:04x}", self.charges.len() + 1, fastrand::u16(..));
        let mut line = serde_json::to_string(&charge).map_err(std::io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        if let Some(key) = &charge.idempotency_key {
            self.by_key.insert(key.clone(), self.charges.len());
        }
        self.charges.push(charge.clone());
        Ok(charge)
    }

    /// Every charge, oldest first.
    pub fn all(&self) -> &[Charge] {
        &self.charges
    }
}
