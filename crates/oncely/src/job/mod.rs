//! The job model: what a job is ([`Job`]), what can be asked of the store
//! when inserting one ([`NewJob`]), and the states it moves through
//! ([`JobState`], drawn in `docs/state-machine.md`).
//!
//! Invariant: a [`NewJob`] that passed [`NewJob::validate`] can be stored by
//! every backend; nothing invalid reaches SQL.

mod new_job;
mod record;
mod state;
mod validate;

pub use new_job::{NewJob, DEFAULT_MAX_ATTEMPTS};
pub use record::{AttemptError, Job};
pub use state::JobState;
pub use validate::{validate_kind, validate_queue, MAX_ARGS_BYTES};
