//! `oncely schedule add|list|remove`.

use chrono::SecondsFormat;
use oncely::kinds::command::CommandArgs;
use oncely::schedule::{CatchUp, Schedule, Spec};
use oncely::{EffectPolicy, Store};

use crate::cli::{Format, ScheduleAddArgs, ScheduleCommand};
use crate::error::CliError;
use crate::output::table;

pub async fn run(store: &Store, command: ScheduleCommand) -> Result<(), CliError> {
    match command {
        ScheduleCommand::Add(args) => {
            let schedule = build(args)?;
            store.schedule_upsert(&schedule).await?;
            crate::say!(
                "schedule {} stored: {} on queue {}",
                schedule.name,
                schedule.spec.describe(),
                schedule.queue
            );
            Ok(())
        }
        ScheduleCommand::Remove { name } => {
            if store.schedule_remove(&name).await? {
                crate::say!("schedule {name} removed");
                Ok(())
            } else {
                Err(CliError::Usage(format!("no schedule named {name:?}")))
            }
        }
        ScheduleCommand::List(format) => list(store, format.format).await,
    }
}

fn build(args: ScheduleAddArgs) -> Result<Schedule, CliError> {
    let spec = match (args.cron, args.every) {
        (Some(expr), None) => Spec::Cron { expr, tz: args.tz },
        (None, Some(seconds)) => Spec::Every { seconds },
        _ => {
            return Err(CliError::Usage(
                "give exactly one of --cron or --every".into(),
            ))
        }
    };
    let mut catch_up = CatchUp::parse(&args.catch_up)?;
    if let CatchUp::All { max } = &mut catch_up {
        *max = args.catch_up_max;
    }
    let mut command = CommandArgs::new(args.command);
    command.reconcile = args.reconcile.argv();
    let job = command.into_job(&args.queue)?;
    let schedule = Schedule {
        name: args.name,
        spec,
        queue: args.queue,
        kind: job.kind,
        args: job.args,
        at_most_once: job.at_most_once || args.at_most_once,
        reconcilable: job.reconcilable,
        max_attempts: args.max_attempts,
        catch_up,
    };
    schedule.validate()?;
    Ok(schedule)
}

async fn list(store: &Store, format: Format) -> Result<(), CliError> {
    let listing = store.schedule_list().await?;
    let records = &listing.records;
    let now = store.db_now().await?;
    if format == Format::Json {
        let leader = store.leader_get().await?;
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "schedules": records,
            "broken": listing.broken,
            "leader": leader,
        }))
        .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        crate::say!("{text}");
        return Ok(());
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let next = r.schedule.spec.next_after(now).ok().flatten();
            vec![
                r.schedule.name.clone(),
                r.schedule.spec.describe(),
                r.schedule.queue.clone(),
                EffectPolicy::of_job(r.schedule.at_most_once, r.schedule.reconcilable).to_string(),
                r.schedule.catch_up.name().into(),
                time(r.last_period),
                time(next),
            ]
        })
        .collect();
    table(
        &mut std::io::stdout().lock(),
        &[
            "NAME",
            "SPEC",
            "QUEUE",
            "EFFECT",
            "CATCH_UP",
            "LAST_PERIOD",
            "NEXT_PERIOD",
        ],
        &rows,
    )?;
    for broken in &listing.broken {
        crate::say!(
            "BROKEN {}: {} (skipped by the periodic enqueuer; fix it with `schedule add` or remove it)",
            broken.name, broken.reason
        );
    }
    crate::say!("{}", leader_line(store).await?);
    Ok(())
}

/// `leader: ID (term N, lease ends in Xs)` or `leader: none`.
pub async fn leader_line(store: &Store) -> Result<String, CliError> {
    let now = store.db_now().await?;
    Ok(match store.leader_get().await? {
        Some(l) if l.expires_at > now => format!(
            "leader: {} (term {}, lease ends in {:.1}s)",
            l.leader_id,
            l.term,
            (l.expires_at - now).num_milliseconds() as f64 / 1000.0
        ),
        Some(l) => format!(
            "leader: none (last: {} term {}, lease expired)",
            l.leader_id, l.term
        ),
        None => "leader: none".into(),
    })
}
