//! The `command` kind: runs a program, so any team, in any language, can run
//! work once across its servers.
//!
//! The program gets the attempt in its environment: `ONCELY_JOB_ID`,
//! `ONCELY_ATTEMPT`, `ONCELY_FENCE` (the fencing token) and
//! `ONCELY_IDEMPOTENCY_KEY`, plus any `env` the job carries. Exit 0 completes
//! the job; exit 75 (`EX_TEMPFAIL`) asks for a retry; any other exit, or death
//! by a signal, fails the attempt (retried until max attempts). The program is
//! killed if the attempt is stopped (timeout, lost lease, shutdown deadline).
//! Only the last 4 KiB of its stdout and stderr are kept.

use std::collections::BTreeMap;
use std::process::Stdio;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::ValidationError;
use crate::job::NewJob;
use crate::worker::{JobContext, JobError, Worker};

/// The kind name of command jobs.
pub const KIND: &str = "command";

/// Exit code that asks for a retry (`EX_TEMPFAIL` from sysexits.h).
pub const EXIT_RETRY: i32 = 75;

/// Bytes of each output stream kept for logs and error messages.
const TAIL_BYTES: usize = 4096;

/// The args of a command job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandArgs {
    /// Program and its arguments.
    pub argv: Vec<String>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl CommandArgs {
    /// A command job in `queue` running `argv`.
    pub fn new_job(queue: impl Into<String>, argv: Vec<String>) -> Result<NewJob, ValidationError> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(ValidationError::Args(
                "a command job needs a program".into(),
            ));
        }
        NewJob::from_args(
            queue,
            KIND,
            &CommandArgs {
                argv,
                env: BTreeMap::new(),
            },
        )
    }
}

/// Runs command jobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommandWorker;

#[async_trait]
impl Worker for CommandWorker {
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        let args: CommandArgs = ctx.args()?;
        let Some((program, rest)) = args.argv.split_first() else {
            return Err(JobError::discard("argv is empty"));
        };
        let mut child = tokio::process::Command::new(program)
            .args(rest)
            .envs(&args.env)
            .env("ONCELY_JOB_ID", ctx.id().to_string())
            .env("ONCELY_ATTEMPT", ctx.attempt().to_string())
            .env("ONCELY_FENCE", ctx.token().to_string())
            .env("ONCELY_IDEMPOTENCY_KEY", ctx.idempotency_key())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| JobError::retry(format!("cannot start {program:?}: {e}")))?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (status, out, err) = tokio::join!(child.wait(), tail(stdout), tail(stderr));
        let status =
            status.map_err(|e| JobError::retry(format!("waiting for {program:?}: {e}")))?;
        if !out.is_empty() {
            tracing::info!(job = ctx.id(), stdout = %out.trim_end(), "command output");
        }
        match status.code() {
            Some(0) => Ok(()),
            Some(EXIT_RETRY) => Err(JobError::retry(format!(
                "exit {EXIT_RETRY}: retry requested{}",
                suffix(&err)
            ))),
            Some(code) => Err(JobError::retry(format!("exit {code}{}", suffix(&err)))),
            None => Err(JobError::retry(format!(
                "killed by a signal{}",
                signal_of(&status)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
                    + &suffix(&err)
            ))),
        }
    }
}

fn suffix(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// Reads a stream to its end, keeping only its last [`TAIL_BYTES`].
async fn tail(stream: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > TAIL_BYTES {
                    kept.drain(..kept.len() - TAIL_BYTES);
                }
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
