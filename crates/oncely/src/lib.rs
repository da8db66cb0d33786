//! oncely: durable jobs that run once and only once across many servers
//! sharing one database.
//!
//! # Layout
//!
//! - [`job`]: the job model ([`Job`], [`NewJob`], [`JobState`]) and input validation.
//! - [`store`]: the storage boundary, a [`store::Driver`] trait with one
//!   implementation per backend ([`store::postgres`], [`store::sqlite`]);
//!   each backend keeps its SQL and migrations in `.sql` files beside it.
//! - [`worker`]: the runtime: a [`Client`] with per-queue producers that never
//!   claim more than their free slots, an executor per job that heartbeats
//!   and writes the outcome fenced on the claim's token, and graceful shutdown.
//! - [`schedule`]: periodic jobs: cron or interval specs, catch-up policies.
//! - [`maintenance`]: services run by the elected leader: rescuer, periodic
//!   enqueuer, pruner; and the leader election itself.
//! - [`kinds`]: built-in job kinds (`command`, the language-neutral worker).
//! - [`verify`]: checks once-and-only-once from the outside (for chaos tests and audits).
//! - [`error`]: typed errors; a lost lease is [`Error::LeaseLost`].
//!
//! # Promises
//!
//! At any instant at most one attempt holds a job's lease; every write of an
//! attempt after its claim is conditional on its fencing token and reports
//! whether it took effect; leases and schedules use the database's clock; no
//! transaction stays open while a handler runs. See `docs/state-machine.md`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod job;
pub mod kinds;
pub mod maintenance;
pub mod schedule;
pub mod store;
pub mod verify;
pub mod worker;

pub use error::{Error, LeaseLost, Result, ValidationError};
pub use job::{Job, JobState, NewJob};
pub use store::{connect, Driver, Fence, Store};
pub use worker::{
    Client, ClientBuilder, EffectPolicy, JobContext, JobError, Reconciliation, Worker,
};
