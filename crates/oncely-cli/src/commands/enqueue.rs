//! `oncely enqueue`: insert a job, print its id.

use std::time::Duration;

use chrono::{DateTime, Utc};
use oncely::kinds::command::CommandArgs;
use oncely::{NewJob, Store};

use crate::cli::EnqueueArgs;
use crate::error::CliError;

pub async fn run(store: &Store, args: EnqueueArgs) -> Result<(), CliError> {
    let job = build(args)?;
    job.validate()?;
    let outcome = store.job_insert(&job).await?;
    if !outcome.inserted {
        eprintln!(
            "a job with unique key {:?} already exists ({}); nothing inserted",
            job.unique_key.as_deref().unwrap_or_default(),
            outcome.job.state
        );
    }
    crate::say!("{}", outcome.job.id);
    Ok(())
}

fn build(args: EnqueueArgs) -> Result<NewJob, CliError> {
    let json = match (&args.args, &args.args_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => Some(read_args_file(path)?),
        (None, None) => None,
    };
    let reconcile = args.reconcile.argv();
    if reconcile.is_some() && args.command.is_empty() {
        return Err(CliError::Usage(
            "--reconcile-with is for command jobs: give the command after --".into(),
        ));
    }
    let mut job = match (args.kind, json, args.command.is_empty()) {
        (Some(kind), Some(json), true) => {
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| CliError::Usage(format!("--args is not valid JSON: {e}")))?;
            NewJob::new(args.queue, kind, value)
        }
        (None, None, false) => {
            let mut command = CommandArgs::new(args.command);
            command.reconcile = reconcile;
            command.into_job(args.queue)?
        }
        (Some(_), None, true) => return Err(CliError::Usage("--kind needs --args JSON".into())),
        (None, Some(_), true) => return Err(CliError::Usage("--args needs --kind".into())),
        (None, None, true) => {
            return Err(CliError::Usage(
                "give --kind K --args JSON, or a command after --".into(),
            ))
        }
        (_, _, false) => {
            return Err(CliError::Usage(
                "a command after -- cannot be combined with --kind/--args".into(),
            ))
        }
    };
    job = job
        .with_max_attempts(args.max_attempts)
        .with_priority(args.priority);
    if let Some(at) = args.run_at {
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(&at)
            .map_err(|e| CliError::Usage(format!("--run-at {at:?} is not RFC 3339: {e}")))?
            .with_timezone(&Utc);
        job = job.with_run_at(at);
    }
    if let Some(key) = args.unique_key {
        job = job.with_unique_key(key);
    }
    if args.at_most_once {
        job = job.at_most_once();
    }
    if let Some(secs) = args.timeout_secs {
        let timeout = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| CliError::Usage(format!("--timeout-secs {secs} must be positive")))?;
        job = job.with_timeout(timeout);
    }
    Ok(job)
}

/// Reads `--args-file` (`-` is stdin).
fn read_args_file(path: &std::path::Path) -> Result<String, CliError> {
    // Pretty-printed JSON may be larger than its compact form, which is what
    // the 1 MiB limit counts: read up to twice that, and say so beyond.
    let limit = oncely::job::MAX_ARGS_BYTES as u64 * 2;
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), limit + 1),
            &mut text,
        )
    } else {
        std::fs::File::open(path).and_then(|f| {
            std::io::Read::read_to_string(&mut std::io::Read::take(f, limit + 1), &mut text)
        })
    };
    read.map_err(|e| CliError::Usage(format!("cannot read --args-file {}: {e}", path.display())))?;
    if text.len() as u64 > limit {
        return Err(CliError::Usage(format!(
            "--args-file {} is over {limit} bytes: job args are limited to {} bytes (1 MiB) as compact JSON; \
             keep large payloads in your own storage and pass a reference",
            path.display(),
            oncely::job::MAX_ARGS_BYTES
        )));
    }
    Ok(text)
}
