//! Maintenance services, run by the elected leader. Each is a small struct
//! with a validated config and a `run_once` that tests call directly:
//!
//! - [`leader`]: election with fenced terms (every client takes part);
//! - [`rescuer`]: jobs whose lease expired go back to work, or in doubt;
//! - [`periodic`]: fires each schedule's periods, once each across the fleet;
//! - [`pruner`]: deletes old final jobs and firing records in bounded batches.
//!
//! [`runner`] is the loop every client runs: it keeps trying to lead, and
//! while it leads it runs the services on their intervals.
//!
//! Invariant: leadership is an optimisation, never the guarantee. Every
//! leader-only write is fenced on the term, and once-per-period is enforced by
//! a unique key in the database, so two servers that both believe they lead
//! still fire each period once.

pub mod leader;
pub mod periodic;
pub mod pruner;
pub mod rescuer;
pub(crate) mod runner;
