//! `oncely queues`: counts per queue and state, which queues are paused;
//! `oncely queues pause|resume NAME` (recorded in the operator log).

use std::collections::BTreeMap;

use oncely::{JobState, Store};

use crate::cli::{Format, QueuesArgs, QueuesCommand};
use crate::error::CliError;
use crate::output::table;

pub async fn run(store: &Store, args: QueuesArgs) -> Result<(), CliError> {
    match args.action {
        None => list(store, args.format.format).await,
        Some(QueuesCommand::Pause { name, decision }) => {
            let state = store.queue_pause(&name, &decision.decision()?).await?;
            let since = state.paused_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            crate::say!(
                "queue {name} is paused (since {since}, by {}): no worker claims from it until \
                 `oncely queues resume {name}`; attempts already running go on",
                state.paused_by.as_deref().unwrap_or("?")
            );
            Ok(())
        }
        Some(QueuesCommand::Resume { name, decision }) => {
            store.queue_resume(&name, &decision.decision()?).await?;
            crate::say!("queue {name} runs: workers claim from it again");
            Ok(())
        }
    }
}

async fn list(store: &Store, format: Format) -> Result<(), CliError> {
    let counts = store.queue_counts().await?;
    let paused: BTreeMap<String, oncely::store::QueueState> = store
        .queue_states()
        .await?
        .into_iter()
        .filter(|q| q.paused())
        .map(|q| (q.name.clone(), q))
        .collect();
    let mut by_queue: BTreeMap<String, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for c in &counts {
        *by_queue
            .entry(c.queue.clone())
            .or_default()
            .entry(c.state.as_str())
            .or_default() += c.count;
    }
    for name in paused.keys() {
        by_queue.entry(name.clone()).or_default();
    }
    if format == Format::Json {
        let json: BTreeMap<&String, serde_json::Value> = by_queue
            .iter()
            .map(|(queue, states)| {
                let mut v = serde_json::to_value(states).unwrap_or_default();
                if let (Some(obj), Some(p)) = (v.as_object_mut(), paused.get(queue)) {
                    obj.insert("paused".into(), serde_json::to_value(p).unwrap_or_default());
                }
                (queue, v)
            })
            .collect();
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        crate::say!("{text}");
        return Ok(());
    }
    let mut header = vec!["QUEUE", "PAUSED"];
    header.extend(JobState::ALL.iter().map(|s| s.as_str()));
    header.push("total");
    let rows: Vec<Vec<String>> = by_queue
        .iter()
        .map(|(queue, states)| {
            let pause = paused.get(queue).map_or("-".to_string(), |p| {
                format!("yes, by {}", p.paused_by.as_deref().unwrap_or("?"))
            });
            let mut row = vec![queue.clone(), pause];
            row.extend(
                JobState::ALL
                    .iter()
                    .map(|s| states.get(s.as_str()).copied().unwrap_or(0).to_string()),
            );
            row.push(states.values().sum::<i64>().to_string());
            row
        })
        .collect();
    table(&mut std::io::stdout().lock(), &header, &rows)?;
    crate::say!("{}", super::schedule::leader_line(store).await?);
    Ok(())
}
