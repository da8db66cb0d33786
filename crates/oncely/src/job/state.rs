//! The states of a job and which of them are final.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Where a job is in its life. See `docs/state-machine.md` for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at`; claimable once it is due.
    Scheduled,
    /// Due and waiting for a worker.
    Available,
    /// Held by one worker under a lease and a fencing token.
    Running,
    /// An attempt failed; waiting for its backoff to pass, then claimable.
    Retryable,
    /// Finished successfully. Final.
    Completed,
    /// Gave up (max attempts, or the handler said so). Final.
    Discarded,
    /// Cancelled by an operator or by its handler. Final.
    Cancelled,
    /// Its effect may or may not have happened and it must not run again on
    /// its own: waits for reconciliation or an operator's decision.
    InDoubt,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 8] = [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Retryable,
        JobState::Completed,
        JobState::Discarded,
        JobState::Cancelled,
        JobState::InDoubt,
    ];

    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Retryable => "retryable",
            JobState::Completed => "completed",
            JobState::Discarded => "discarded",
            JobState::Cancelled => "cancelled",
            JobState::InDoubt => "in_doubt",
        }
    }

    /// True for states a job never leaves on its own (completed, discarded, cancelled).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Discarded | JobState::Cancelled
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| ValidationError::State(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
        }
        assert!("done".parse::<JobState>().is_err());
    }

    #[test]
    fn only_three_states_are_final() {
        let finals: Vec<_> = JobState::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            vec![
                JobState::Completed,
                JobState::Discarded,
                JobState::Cancelled
            ]
        );
    }
}
