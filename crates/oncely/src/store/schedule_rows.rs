//! Helpers every backend's schedule and leadership code shares: the JSON
//! text of a schedule's parts, and the errors of a corrupt schedule row or a
//! term that has ended.

use crate::error::Error;
use crate::store::LeaderTerm;

/// A schedule's part (spec, args, catch-up policy) as stored JSON text.
pub(crate) fn json_text(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| Error::Invalid(crate::ValidationError::Schedule(e.to_string())))
}

/// The error of a leader whose term is over.
pub(crate) fn lost(term: &LeaderTerm) -> Error {
    Error::LeadershipLost {
        leader_id: term.leader_id.clone(),
        term: term.term,
    }
}

/// A schedule row whose `what` does not decode.
pub(crate) fn corrupt(name: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::CorruptRow {
        table: "oncely_schedules",
        id: None,
        reason: format!("schedule {name:?}: {what}: {e}"),
    }
}
