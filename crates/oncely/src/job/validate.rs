//! Validation of names and sizes, shared by the library and the CLI.

use crate::error::ValidationError;

/// Largest serialized args a job may carry: 1 MiB. Larger payloads belong in
/// the application's own storage, with the job carrying a reference.
pub const MAX_ARGS_BYTES: usize = 1024 * 1024;

fn name_ok(name: &str, extra: &[u8]) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b) || extra.contains(&b))
}

/// Checks a queue name: `[A-Za-z0-9_.-]{1,128}`.
pub fn validate_queue(name: &str) -> Result<(), ValidationError> {
    if name_ok(name, b"") {
        Ok(())
    } else {
        Err(ValidationError::QueueName(name.to_owned()))
    }
}

/// Checks a job kind: `[A-Za-z0-9_.:-]{1,128}`.
pub fn validate_kind(name: &str) -> Result<(), ValidationError> {
    if name_ok(name, b":") {
        Ok(())
    } else {
        Err(ValidationError::KindName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        assert!(validate_queue("default").is_ok());
        assert!(validate_queue("billing.eu-1_x").is_ok());
        assert!(validate_queue(&"q".repeat(128)).is_ok());
        for bad in ["", "a b", "émoji", "semi;colon", "x:y"] {
            assert!(validate_queue(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_queue(&"q".repeat(129)).is_err());
    }

    #[test]
    fn kind_names() {
        assert!(validate_kind("invoice:send").is_ok());
        assert!(validate_kind("").is_err());
        assert!(validate_kind("drop table").is_err());
    }
}
