//! `--log-format json`: one JSON object per line on stderr, each event with
//! its span — an attempt's queue, kind, job, attempt and fencing token.

use std::process::{Command, Stdio};
use std::time::Duration;

use oncely_testkit::{Backend, TestDb};

use super::support::{eventually, BIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_attempt_span() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let job = store
        .job_insert(
            &oncely::kinds::command::CommandArgs::new_job("q", vec!["true".into()]).expect("job"),
        )
        .await
        .expect("insert")
        .job;
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut worker = Command::new(BIN)
        .args([
            "--log-format",
            "json",
            "worker",
            "--allow-any-program",
            "--queues",
            "q=1",
            "--poll-interval-ms",
            "100",
        ])
        .env("ONCELY_DATABASE_URL", &db.url)
        .env("ONCELY_LOG", "oncely=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("worker");
    eventually("the job completes", 30, || {
        let store = store.clone();
        async move {
            store
                .job_get(job.id)
                .await
                .ok()
                .flatten()
                .is_some_and(|j| j.state == oncely::JobState::Completed)
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    let text = std::fs::read_to_string(log.path()).expect("read log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!events.is_empty());
    let ended = events
        .iter()
        .find(|e| e["fields"]["message"] == "attempt ended")
        .unwrap_or_else(|| panic!("no attempt event in {text}"));
    let span = &ended["span"];
    assert_eq!(span["name"], "attempt", "{ended}");
    assert_eq!(span["queue"], "q");
    assert_eq!(span["kind"], "command");
    assert_eq!(span["job"], job.id);
    assert_eq!(span["attempt"], 1);
    assert!(span["fence"].as_i64().is_some_and(|f| f > 0), "{ended}");
    assert!(events
        .iter()
        .all(|e| e["level"].is_string() && e["timestamp"].is_string()));
}
