//! One conformance suite, run against every storage driver.
//!
//! Each `both!(name)` runs the async fn `name(db)` once on a fresh
//! PostgreSQL database and once on a fresh SQLite file.

#[macro_use]
#[path = "common/both.rs"]
mod both;

#[path = "conformance/claim.rs"]
mod claim;
#[path = "conformance/fencing.rs"]
mod fencing;
#[path = "conformance/in_doubt.rs"]
mod in_doubt;
#[path = "conformance/insert.rs"]
mod insert;
#[path = "conformance/listing.rs"]
mod listing;
#[path = "conformance/migrate.rs"]
mod migrate;
#[path = "conformance/operator.rs"]
mod operator;
#[path = "conformance/outcomes.rs"]
mod outcomes;
#[path = "conformance/pause.rs"]
mod pause;
#[path = "conformance/periodic.rs"]
mod periodic;
#[path = "conformance/support.rs"]
mod support;
