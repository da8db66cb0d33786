//! `oncely jobs list|show|retry|cancel`.

use oncely::store::JobFilter;
use oncely::{EffectPolicy, JobState, Store};

use crate::cli::{DecisionArgs, Format, JobsCommand, ListArgs};
use crate::error::CliError;
use crate::output::{table, truncate};

pub async fn run(store: &Store, command: JobsCommand) -> Result<(), CliError> {
    match command {
        JobsCommand::List(args) => list(store, args).await,
        JobsCommand::Show { id } => {
            let job = store
                .job_get(id)
                .await?
                .ok_or(oncely::Error::NotFound(id))?;
            print_json(&job)
        }
        JobsCommand::Retry { id, decision } => {
            let job = store.job_retry_now(id, &decision.decision()?).await?;
            crate::say!(
                "job {} is {} (attempt {} of {})",
                job.id,
                job.state,
                job.attempt,
                job.max_attempts
            );
            Ok(())
        }
        JobsCommand::Resolve {
            id,
            decision,
            reason,
            by,
        } => {
            let resolution = oncely::store::Resolution::parse(&decision)?;
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            let by = DecisionArgs { reason, by }.decision()?;
            let job = store.job_resolve(id, resolution, &by).await?;
            crate::say!("job {} is {} ({})", job.id, job.state, resolution.note(&by));
            Ok(())
        }
        JobsCommand::Cancel { id, decision } => {
            let job = store.job_cancel(id, &decision.decision()?).await?;
            if job.state == JobState::Running {
                crate::say!(
                    "job {} is running: cancel requested; attempt {} on {} is told now (PostgreSQL) or at \
                     its next heartbeat (SQLite), stops, and the job is then cancelled (or when its lease \
                     ends, if its worker is gone); until then it cannot be retried",
                    job.id,
                    job.attempt,
                    job.locked_by.as_deref().unwrap_or("?")
                );
            } else {
                crate::say!("job {} is {}", job.id, job.state);
            }
            Ok(())
        }
    }
}

async fn list(store: &Store, args: ListArgs) -> Result<(), CliError> {
    let state = args
        .state
        .as_deref()
        .map(str::parse::<JobState>)
        .transpose()?;
    if let Some(queue) = &args.queue {
        oncely::job::validate_queue(queue)?;
    }
    let jobs = store
        .job_list(&JobFilter {
            state,
            queue: args.queue,
            limit: Some(args.limit),
            ..JobFilter::default()
        })
        .await?;
    if args.format == Format::Json {
        return print_json(&jobs);
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.state.to_string(),
                j.queue.clone(),
                j.kind.clone(),
                format!("{}/{}", j.attempt, j.max_attempts),
                EffectPolicy::of_job(j.at_most_once, j.reconcilable).to_string(),
                j.run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                j.errors
                    .last()
                    .map(|e| truncate(&e.error, 60))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &mut std::io::stdout().lock(),
        &[
            "ID",
            "STATE",
            "QUEUE",
            "KIND",
            "ATTEMPT",
            "EFFECT",
            "RUN_AT (UTC)",
            "LAST ERROR",
        ],
        &rows,
    )?;
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
    crate::say!("{text}");
    Ok(())
}

impl DecisionArgs {
    /// The decision to record: `--by` or `$USER@host`, and `--reason`.
    pub fn decision(&self) -> Result<oncely::store::Decision, CliError> {
        let by = self.by.clone().unwrap_or_else(|| {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            format!("{user}@{}", host.trim())
        });
        Ok(oncely::store::Decision::new(&by, &self.reason).map_err(oncely::Error::from)?)
    }
}
