//! Leader election: one row, a term that grows with every change of leader,
//! and an expiry from the database clock.

use std::time::Duration;

use crate::error::{Result, ValidationError};
use crate::store::{LeaderTerm, Store};

/// Settings of the [`Elector`].
#[derive(Debug, Clone)]
pub struct ElectorConfig {
    /// How long a leadership lasts unless extended. Default 15 s.
    pub ttl: Duration,
}

impl Default for ElectorConfig {
    fn default() -> Self {
        ElectorConfig {
            ttl: Duration::from_secs(15),
        }
    }
}

impl ElectorConfig {
    /// Checks the ttl.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.ttl < Duration::from_millis(100) {
            return Err(ValidationError::Args(
                "leader ttl must be at least 100 ms".into(),
            ));
        }
        Ok(())
    }

    /// How often a leader extends its term, and a follower tries to take over.
    pub fn attempt_every(&self) -> Duration {
        (self.ttl / 4).min(Duration::from_secs(1))
    }
}

/// Takes part in the election as `leader_id`.
pub struct Elector {
    store: Store,
    leader_id: String,
    config: ElectorConfig,
}

impl Elector {
    /// An elector for `leader_id`.
    pub fn new(store: Store, leader_id: impl Into<String>, config: ElectorConfig) -> Self {
        Elector {
            store,
            leader_id: leader_id.into(),
            config,
        }
    }

    /// Takes or extends leadership. `None`: someone else leads.
    pub async fn run_once(&self) -> Result<Option<LeaderTerm>> {
        self.store
            .leader_attempt_elect(&self.leader_id, self.config.ttl)
            .await
    }

    /// Gives leadership up so another server takes over at once.
    pub async fn resign(&self, term: &LeaderTerm) -> Result<bool> {
        self.store.leader_resign(term).await
    }

    /// The configuration.
    pub fn config(&self) -> &ElectorConfig {
        &self.config
    }
}
