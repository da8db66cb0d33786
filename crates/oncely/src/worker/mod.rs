//! The worker runtime.
//!
//! A [`Client`] runs one producer per queue. A producer claims at most as many
//! jobs as it has free slots, wakes on a database notification, a local insert,
//! a finished job or its poll interval, and hands each claimed job to an
//! executor task. The executor runs the handler, heartbeats the lease, enforces
//! the timeout, and writes the outcome fenced on the claim's token;
//! completions go through the client's completer, which writes them in
//! batches (one statement per batch, still fenced per job).
//!
//! Shutdown has two steps: stop fetching, then after a grace period cancel the
//! handlers still running and hand their leases back, so another server can
//! take them at once. Every task is owned by a `JoinSet`; none is detached.

mod backoff;
mod client;
mod completer;
mod config;
mod context;
mod executor;
mod handler;
mod lease_clock;
mod observer;
mod primary;
mod producer;
mod registry;
mod signal;
mod stats;
pub(crate) mod wakeups;

pub use backoff::Backoff;
pub use client::{Client, ClientBuilder, Running};
pub use config::ClientConfig;
pub use context::JobContext;
pub use handler::{EffectPolicy, FnWorker, JobError, Reconciliation, Worker};
pub use observer::Observer;
pub use signal::shutdown_signal;
pub(crate) use stats::Counter;
pub use stats::{Stats, StatsSnapshot};
