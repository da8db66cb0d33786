//! The `command` kind: runs a program, so any team, in any language, can run
//! work once across its servers.
//!
//! The program gets the attempt in its environment: `ONCELY_JOB_ID`,
//! `ONCELY_ATTEMPT`, `ONCELY_FENCE` (the fencing token) and
//! `ONCELY_IDEMPOTENCY_KEY`, plus any `env` the job carries. Exit 0 completes
//! the job; exit 75 (`EX_TEMPFAIL`) asks for a retry; any other exit, or death
//! by a signal, fails the attempt (retried until max attempts; for an
//! at-most-once job it may have started its effect, so the job goes in doubt
//! instead — exit 75 is how such a program says "nothing happened"). The
//! program is killed if the attempt is stopped (timeout, lost lease, shutdown
//! deadline), and on Linux when its worker process dies. Only the last 4 KiB
//! of its stdout and stderr are kept.
//!
//! Effect policies: a command job is idempotent by default (the program should
//! pass `ONCELY_IDEMPOTENCY_KEY` on). An at-most-once job goes in doubt when
//! its attempt is cut short or its worker vanishes. A job with a `reconcile`
//! program is reconcilable: in doubt, that program runs (same environment,
//! plus `ONCELY_RECONCILING=1`) and its exit says what happened — 0: the
//! effect happened, complete the job; 1: it did not, run the job again;
//! anything else: cannot tell, stay in doubt and ask again later.
//!
//! Who may run what: a [`CommandWorker`] runs only the programs its own
//! [`AllowedPrograms`] allow (see [`super::allowed`]); a job naming another
//! program — or a reconcile program that is not allowed — is discarded
//! without running, with the reason recorded on the job.

use std::collections::BTreeMap;
use std::process::Stdio;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::allowed::{AllowedPrograms, Refusal};
use crate::error::ValidationError;
use crate::job::NewJob;
use crate::worker::{JobContext, JobError, Reconciliation, Worker};

/// The kind name of command jobs.
pub const KIND: &str = "command";

/// Exit code that asks for a retry (`EX_TEMPFAIL` from sysexits.h).
pub const EXIT_RETRY: i32 = 75;

/// Exit code of a reconcile program meaning "the effect did not happen".
pub const EXIT_NOT_DONE: i32 = 1;

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
    /// Program and arguments that tell, when the job is in doubt, whether its
    /// effect happened (exit 0 yes, 1 no, other: cannot tell). Makes the job
    /// reconcilable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<Vec<String>>,
}

impl CommandArgs {
    /// Args running `argv`, without extra environment or reconcile program.
    pub fn new(argv: Vec<String>) -> Self {
        CommandArgs {
            argv,
            env: BTreeMap::new(),
            reconcile: None,
        }
    }

    /// Adds a reconcile program (see the module docs).
    pub fn with_reconcile(mut self, argv: Vec<String>) -> Self {
        self.reconcile = Some(argv);
        self
    }

    /// A command job in `queue` running `argv`.
    pub fn new_job(queue: impl Into<String>, argv: Vec<String>) -> Result<NewJob, ValidationError> {
        CommandArgs::new(argv).into_job(queue)
    }

    /// The job in `queue` running these args; reconcilable if they carry a
    /// reconcile program.
    pub fn into_job(self, queue: impl Into<String>) -> Result<NewJob, ValidationError> {
        self.check()?;
        let reconcilable = self.reconcile.is_some();
        let job = NewJob::from_args(queue, KIND, &self)?;
        Ok(if reconcilable {
            job.reconcilable()
        } else {
            job
        })
    }

    /// Both programs, when given, are named.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.argv.first().is_none_or(|p| p.is_empty()) {
            return Err(ValidationError::Args(
                "a command job needs a program".into(),
            ));
        }
        if let Some(reconcile) = &self.reconcile {
            if reconcile.first().is_none_or(|p| p.is_empty()) {
                return Err(ValidationError::Args(
                    "a reconcile program, when given, needs a name".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Runs command jobs, for the programs its configuration allows.
#[derive(Debug, Clone)]
pub struct CommandWorker {
    allowed: std::sync::Arc<AllowedPrograms>,
}

impl CommandWorker {
    /// A worker running only the programs `allowed` names.
    pub fn new(allowed: AllowedPrograms) -> Self {
        CommandWorker {
            allowed: std::sync::Arc::new(allowed),
        }
    }

    /// A worker running any program a job names: only for databases that
    /// nobody untrusted can write to.
    pub fn allowing_any() -> Self {
        CommandWorker::new(AllowedPrograms::Any)
    }

    /// The programs this worker may run.
    pub fn allowed(&self) -> &AllowedPrograms {
        &self.allowed
    }

    /// The path to run for `argv`'s program; a refusal by configuration
    /// discards the job, a program missing from `PATH` retries it.
    fn program(&self, argv: &[String]) -> Result<std::path::PathBuf, JobError> {
        let name = argv.first().map(String::as_str).unwrap_or_default();
        match self.allowed.resolve(name) {
            Ok(path) => Ok(path),
            Err(refused @ Refusal::NotAllowed { .. }) => {
                Err(JobError::discard(refused.to_string()))
            }
            Err(missing @ Refusal::NotFound(_)) => Err(JobError::retry(missing.to_string())),
        }
    }
}

#[async_trait]
impl Worker for CommandWorker {
    async fn work(&self, ctx: JobContext) -> Result<(), JobError> {
        let args: CommandArgs = ctx.args()?;
        if args.check().is_err() {
            return Err(JobError::discard("the job names no program"));
        }
        let program = self.program(&args.argv)?;
        // A job whose reconcile program may not run here would wait in doubt
        // for ever: refuse it before it acts.
        if let Some(reconcile) = &args.reconcile {
            self.program(reconcile)?;
        }
        ctx.check_lease()?;
        let ran = run(&ctx, &program, &args.argv[1..], &args.env, false)
            .await
            .map_err(JobError::retry)?;
        match ran.status.code() {
            Some(0) => Ok(()),
            Some(EXIT_RETRY) => Err(JobError::retry(format!(
                "exit {EXIT_RETRY}: retry requested{}",
                suffix(&ran.stderr)
            ))),
            // The program may have started its effect before failing.
            _ if ctx.job().at_most_once => Err(JobError::InDoubt(ran.describe())),
            _ => Err(JobError::retry(ran.describe())),
        }
    }

    /// Command jobs carrying a reconcile program are reconciled (the kind as
    /// a whole stays idempotent).
    fn has_reconcile_step(&self) -> bool {
        true
    }

    async fn reconcile(&self, ctx: JobContext) -> Reconciliation {
        let args: CommandArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return Reconciliation::Unknown(format!("unreadable args: {e}")),
        };
        let Some(reconcile) = &args.reconcile else {
            return Reconciliation::Unknown("the job has no reconcile program".into());
        };
        let Some((name, rest)) = reconcile.split_first() else {
            return Reconciliation::Unknown("the reconcile program has no name".into());
        };
        let program = match self.allowed.resolve(name) {
            Ok(path) => path,
            Err(refused) => return Reconciliation::Unknown(refused.to_string()),
        };
        match run(&ctx, &program, rest, &args.env, true).await {
            Err(e) => Reconciliation::Unknown(e),
            Ok(ran) => match ran.status.code() {
                Some(0) => Reconciliation::Done,
                Some(EXIT_NOT_DONE) => Reconciliation::NotDone,
                _ => Reconciliation::Unknown(format!("reconcile program: {}", ran.describe())),
            },
        }
    }
}

/// How a program run ended.
struct Ran {
    status: std::process::ExitStatus,
    stderr: String,
}

impl Ran {
    /// "exit N" or "killed by a signal", with the end of stderr.
    fn describe(&self) -> String {
        match self.status.code() {
            Some(code) => format!("exit {code}{}", suffix(&self.stderr)),
            None => format!(
                "killed by a signal{}{}",
                signal_of(&self.status)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                suffix(&self.stderr)
            ),
        }
    }
}

/// Runs `program` with `rest` for the attempt (or reconciliation) of `ctx`
/// and waits for it; killed if this future is dropped. Errors say why it
/// could not run.
async fn run(
    ctx: &JobContext,
    program: &std::path::Path,
    rest: &[String],
    env: &BTreeMap<String, String>,
    reconciling: bool,
) -> Result<Ran, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(rest)
        .envs(env)
        .env("ONCELY_JOB_ID", ctx.id().to_string())
        .env("ONCELY_ATTEMPT", ctx.attempt().to_string())
        .env("ONCELY_FENCE", ctx.token().to_string())
        .env("ONCELY_IDEMPOTENCY_KEY", ctx.idempotency_key())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if reconciling {
        command.env("ONCELY_RECONCILING", "1");
    }
    super::parent_death::die_with_parent(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (status, out, err) = tokio::join!(child.wait(), tail(stdout), tail(stderr));
    let status = status.map_err(|e| format!("waiting for {program:?}: {e}"))?;
    if !out.is_empty() {
        tracing::info!(job = ctx.id(), reconciling, stdout = %out.trim_end(), "command output");
    }
    Ok(Ran {
        status,
        stderr: err,
    })
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
