//! The worker runtime end to end, in one process, on both backends:
//! draining, outcomes, heartbeats, cancellation, timeouts, shutdown, wake-ups.

#[macro_use]
#[path = "common/both.rs"]
mod both;

#[path = "runtime/commands.rs"]
mod commands;
#[path = "runtime/drain.rs"]
mod drain;
#[path = "runtime/lifecycle.rs"]
mod lifecycle;
#[path = "runtime/obedience.rs"]
mod obedience;
#[path = "runtime/outcomes.rs"]
mod outcomes;
#[path = "runtime/paused.rs"]
mod paused;
#[path = "runtime/periodic.rs"]
mod periodic;
#[path = "runtime/prefetch.rs"]
mod prefetch;
#[path = "runtime/reconcile.rs"]
mod reconcile;
#[path = "runtime/support.rs"]
mod support;
