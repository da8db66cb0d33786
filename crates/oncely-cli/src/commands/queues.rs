//! `oncely queues`: counts per queue and state.

use std::collections::BTreeMap;

use oncely::{JobState, Store};

use crate::cli::Format;
use crate::error::CliError;
use crate::output::table;

pub async fn run(store: &Store, format: Format) -> Result<(), CliError> {
    let counts = store.queue_counts().await?;
    let mut by_queue: BTreeMap<String, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for c in &counts {
        *by_queue
            .entry(c.queue.clone())
            .or_default()
            .entry(c.state.as_str())
            .or_default() += c.count;
    }
    if format == Format::Json {
        let text = serde_json::to_string_pretty(&by_queue)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        crate::say!("{text}");
        return Ok(());
    }
    let mut header = vec!["QUEUE"];
    header.extend(JobState::ALL.iter().map(|s| s.as_str()));
    header.push("total");
    let rows: Vec<Vec<String>> = by_queue
        .iter()
        .map(|(queue, states)| {
            let mut row = vec![queue.clone()];
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
