//! Failures of the command line and their exit codes.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the library (database, validation, state machine).
    #[error("{0}")]
    Oncely(#[from] oncely::Error),
    /// Arguments that parse but make no sense.
    #[error("{0}")]
    Usage(String),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// 2 for bad arguments (like clap), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Oncely(oncely::Error::Invalid(_)) => 2,
            _ => 1,
        }
    }
}

impl From<oncely::ValidationError> for CliError {
    fn from(e: oncely::ValidationError) -> Self {
        CliError::Oncely(e.into())
    }
}
