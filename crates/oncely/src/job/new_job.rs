//! [`NewJob`]: what a caller asks the store to insert.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::validate::{validate_kind, validate_queue, MAX_ARGS_BYTES};
use crate::error::ValidationError;

/// Default number of attempts before a failing job is discarded.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 20;

/// A job to insert. Build it with [`NewJob::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Queue to wait in.
    pub queue: String,
    /// Handler kind.
    pub kind: String,
    /// Handler input (a JSON object or array).
    pub args: serde_json::Value,
    /// 0 (first) to 9 (last). Default 0.
    pub priority: i16,
    /// Earliest run time; `None` means now (database time).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before discarding. Default 20.
    pub max_attempts: i32,
    /// If set, inserting while a non-final job holds the same key returns that job.
    pub unique_key: Option<String>,
    /// Key sent to outside systems; default a random UUID, stable across attempts.
    pub idempotency_key: Option<String>,
    /// Never repeat an attempt that may have started: a vanished worker leaves the job in doubt.
    pub at_most_once: bool,
    /// When in doubt, run the kind's reconcile step to find out whether the
    /// effect happened. A reconcilable job is stored at-most-once too.
    pub reconcilable: bool,
    /// Per-attempt time limit.
    pub timeout: Option<std::time::Duration>,
}

/// True when a string or key anywhere in `value` holds a NUL character.
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

impl NewJob {
    /// A job of `kind` in `queue` with JSON `args` and default options.
    pub fn new(queue: impl Into<String>, kind: impl Into<String>, args: serde_json::Value) -> Self {
        NewJob {
            queue: queue.into(),
            kind: kind.into(),
            args,
            priority: 0,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            unique_key: None,
            idempotency_key: None,
            at_most_once: false,
            reconcilable: false,
            timeout: None,
        }
    }

    /// A job whose args are any serializable value.
    pub fn from_args<A: Serialize>(
        queue: impl Into<String>,
        kind: impl Into<String>,
        args: &A,
    ) -> Result<Self, ValidationError> {
        let value = serde_json::to_value(args).map_err(|e| ValidationError::Args(e.to_string()))?;
        Ok(NewJob::new(queue, kind, value))
    }

    /// Sets the priority (0 first, 9 last).
    pub fn with_priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    /// Schedules the job for later.
    pub fn with_run_at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }

    /// Sets the number of attempts before discarding.
    pub fn with_max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Makes the job unique among non-final jobs with this key.
    pub fn with_unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Uses this idempotency key instead of a random one.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Declares that the job's effect must run at most once.
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    /// Declares that the job's effect must run at most once and that its
    /// kind's reconcile step can tell, when the job is in doubt, whether the
    /// effect happened (see [`crate::Worker::reconcile`]).
    pub fn reconcilable(mut self) -> Self {
        self.at_most_once = true;
        self.reconcilable = true;
        self
    }

    /// Whether the job is stored at-most-once (also implied by `reconcilable`).
    pub fn stored_at_most_once(&self) -> bool {
        self.at_most_once || self.reconcilable
    }

    /// Limits each attempt to `timeout`.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks everything a backend relies on. Returns the serialized args.
    pub fn validate(&self) -> Result<String, ValidationError> {
        validate_queue(&self.queue)?;
        validate_kind(&self.kind)?;
        if !(self.args.is_object() || self.args.is_array()) {
            return Err(ValidationError::Args(
                "args must be a JSON object or array".into(),
            ));
        }
        let encoded =
            serde_json::to_string(&self.args).map_err(|e| ValidationError::Args(e.to_string()))?;
        if encoded.len() > MAX_ARGS_BYTES {
            return Err(ValidationError::ArgsTooLarge {
                size: encoded.len(),
                limit: MAX_ARGS_BYTES,
            });
        }
        if holds_nul(&self.args) {
            return Err(ValidationError::NulCharacter("job args"));
        }
        if !(0..=9).contains(&self.priority) {
            return Err(ValidationError::Priority(self.priority.into()));
        }
        if !(1..=1000).contains(&self.max_attempts) {
            return Err(ValidationError::MaxAttempts(self.max_attempts.into()));
        }
        if let Some(key) = &self.unique_key {
            if key.is_empty() || key.len() > 512 {
                return Err(ValidationError::UniqueKey(key.len()));
            }
            if key.contains('\0') {
                return Err(ValidationError::NulCharacter("the unique key"));
            }
        }
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() || key.len() > 255 {
                return Err(ValidationError::IdempotencyKey(key.len()));
            }
            if key.contains('\0') {
                return Err(ValidationError::NulCharacter("the idempotency key"));
            }
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(ValidationError::NonPositive("timeout"));
        }
        Ok(encoded)
    }

    /// The idempotency key to store: the given one or a fresh random UUID.
    pub(crate) fn idempotency_key_or_random(&self) -> String {
        self.idempotency_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }

    /// The timeout in whole milliseconds, as stored.
    pub(crate) fn timeout_ms(&self) -> Option<i64> {
        self.timeout
            .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_valid() {
        assert!(NewJob::new("default", "k", json!({})).validate().is_ok());
    }

    #[test]
    fn rejects_bad_input() {
        let ok = || NewJob::new("default", "k", json!({}));
        assert!(NewJob::new("bad queue", "k", json!({})).validate().is_err());
        assert!(NewJob::new("q", "", json!({})).validate().is_err());
        assert!(NewJob::new("q", "k", json!(3)).validate().is_err());
        assert!(ok().with_priority(10).validate().is_err());
        assert!(ok().with_max_attempts(0).validate().is_err());
        assert!(ok().with_unique_key("").validate().is_err());
        let huge = json!({ "blob": "x".repeat(MAX_ARGS_BYTES) });
        assert!(matches!(
            NewJob::new("q", "k", huge).validate(),
            Err(ValidationError::ArgsTooLarge { .. })
        ));
        for args in [
            json!({ "name": "a\u{0}b" }),
            json!([["deep", { "x\u{0}": 1 }]]),
        ] {
            assert_eq!(
                NewJob::new("q", "k", args).validate(),
                Err(ValidationError::NulCharacter("job args"))
            );
        }
        // A backslash followed by "u0000" is ordinary text.
        assert!(NewJob::new("q", "k", json!({ "path": "C:\\u0000" }))
            .validate()
            .is_ok());
        assert!(ok().with_unique_key("a\u{0}").validate().is_err());
        assert!(ok().with_idempotency_key("a\u{0}").validate().is_err());
    }
}
