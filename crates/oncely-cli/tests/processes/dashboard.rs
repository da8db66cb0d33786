//! `oncely dashboard` and `oncely worker --metrics-listen` as real processes:
//! the pages, the JSON snapshot and the Prometheus metrics show what the
//! database holds, with every value escaped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oncely::schedule::{Schedule, Spec};
use oncely::store::{ClaimParams, Fence};
use oncely::NewJob;
use oncely_testkit::{Backend, TestDb};

use super::support::{eventually, BIN};

/// Starts `oncely ARGS` and reads the URL it prints on its first line.
fn start(url: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ONCELY_DATABASE_URL", url)
        .env("ONCELY_LOG", "oncely=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting oncely");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("banner");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches("/metrics")
        .to_owned();
    (child, base)
}

/// A plain HTTP/1.1 GET; returns (status line, body).
fn get(base: &str, path: &str) -> (String, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "exit {exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_queues_doubts_and_metrics() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    for _ in 0..2 {
        store
            .job_insert(&NewJob::new("mail", "welcome", serde_json::json!({})))
            .await
            .expect("insert");
    }
    store
        .job_insert(&NewJob::new("billing", "charge", serde_json::json!({})).at_most_once())
        .await
        .expect("insert");
    let claimed = store
        .job_claim(&ClaimParams {
            queue: "billing".into(),
            kinds: vec!["charge".into()],
            limit: 1,
            lease: Duration::from_secs(30),
            worker_id: "w".into(),
        })
        .await
        .expect("claim")
        .remove(0);
    store
        .job_doubt(
            Fence::of(&claimed),
            "timeout <script>alert(1)</script>",
            Duration::ZERO,
        )
        .await
        .expect("doubt");
    store
        .schedule_upsert(&Schedule::new(
            "nightly",
            Spec::cron("0 2 * * *"),
            "mail",
            "digest",
            serde_json::json!({}),
        ))
        .await
        .expect("schedule");
    // A schedule row no current binary would write, with markup in its name.
    db.insert_raw_schedule("<b>odd</b>", r#"{"type":"lunar"}"#, "q", "k", "{}")
        .await;

    let (dashboard, base) = start(&db.url, &["dashboard", "--listen", "127.0.0.1:0"]);
    let (status, page) = get(&base, "/");
    assert!(status.contains("200"), "{status}");
    assert!(
        page.contains(">mail</a>") && page.contains("<td>nightly</td>"),
        "{page}"
    );
    assert!(page.contains("1 in doubt"), "{page}");
    let (_, doubts) = get(&base, "/in-doubt");
    assert!(
        doubts.contains("timeout &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{doubts}"
    );
    let (_, schedules) = get(&base, "/schedules");
    assert!(
        schedules.contains("&lt;b&gt;odd&lt;/b&gt;") && schedules.contains("broken, skipped"),
        "the broken schedule is shown: {schedules}"
    );
    let (_, listed) = get(&base, "/jobs?state=in_doubt");
    assert!(listed.contains("at-most-once"), "{listed}");
    for text in [&page, &doubts, &schedules, &listed] {
        assert!(!text.contains("<script>alert"), "unescaped markup: {text}");
        assert!(!text.contains("<b>odd"), "unescaped markup: {text}");
    }
    let (_, json) = get(&base, "/api/snapshot");
    let snapshot: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(snapshot["in_doubt"][0]["id"], claimed.id, "{snapshot}");
    assert_eq!(snapshot["counts"]["mail"]["available"], 2, "{snapshot}");
    let (_, metrics) = get(&base, "/metrics");
    assert!(
        metrics.contains("oncely_jobs{queue=\"mail\",state=\"available\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("oncely_jobs{queue=\"billing\",state=\"in_doubt\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("oncely_schedules_broken 1"), "{metrics}");
    assert_eq!(
        snapshot["broken_schedules"][0]["name"], "<b>odd</b>",
        "{snapshot}"
    );
    let (status, _) = get(&base, "/nope");
    assert!(status.contains("404"), "{status}");
    stop(dashboard);

    // A worker's own counters.
    let (worker, base) = start(
        &db.url,
        &[
            "worker",
            "--allow-any-program",
            "--queues",
            "q=2",
            "--poll-interval-ms",
            "100",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    store
        .job_insert(
            &oncely::kinds::command::CommandArgs::new_job("q", vec!["true".into()]).expect("job"),
        )
        .await
        .expect("insert");
    let mut text = String::new();
    eventually("the completion is counted", 30, || {
        text = get(&base, "/metrics").1;
        let done = text.contains("outcome=\"completed\"} 1");
        async move { done }
    })
    .await;
    assert!(
        text.contains("oncely_worker_claimed_total{worker="),
        "{text}"
    );
    assert!(
        text.contains("oncely_worker_policy_raised_total{worker=")
            && text.contains("oncely_worker_maintenance_failures_total{worker=")
            && text.contains("oncely_worker_handed_back_total{worker="),
        "{text}"
    );
    stop(worker);
}
