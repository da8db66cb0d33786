//! The console in a real browser: headless Chromium (Debian package
//! `chromium`) driven by `browser/console.mjs` with `playwright-core` (npm,
//! installed by `scripts/test.sh`). Counts change live while a worker runs
//! jobs; filter, open a job and see its attempts and fences; sign in, retry
//! a discarded job, resolve an in-doubt one; a forged form is refused;
//! `<script>` args are text. Screenshots land in `target/browser-artifacts`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use oncely::store::{ClaimParams, Fence};
use oncely::NewJob;
use oncely_testkit::{Backend, TestDb};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_oncely");
const TOKEN: &str = "browser-test-token-0123456789";

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "headless Chromium not found at {}: install the Debian package `chromium` \
         (scripts/test.sh does), or set CHROMIUM",
        path.display()
    );
    path
}

fn claim(queue: &str, kind: &str) -> ClaimParams {
    ClaimParams {
        queue: queue.into(),
        kinds: vec![kind.into()],
        limit: 1,
        lease: Duration::from_secs(30),
        worker_id: "browser-test-worker".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_browser() {
    let chromium = chromium();
    assert!(
        here().join("node_modules/playwright-core").exists(),
        "playwright-core missing: run `npm install` in {} (scripts/test.sh does)",
        here().display()
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;

    // A discarded job with one attempt, an in-doubt one, one with markup in its args.
    store
        .job_insert(
            &NewJob::new("mail", "welcome", json!({"to": "a@example.com"})).with_max_attempts(1),
        )
        .await
        .expect("insert");
    let failing = store
        .job_claim(&claim("mail", "welcome"))
        .await
        .expect("claim")
        .remove(0);
    store
        .job_discard(Fence::of(&failing), "mailbox full")
        .await
        .expect("discard");
    store
        .job_insert(&NewJob::new("billing", "charge", json!({"invoice": 1})).at_most_once())
        .await
        .expect("insert");
    let doubtful = store
        .job_claim(&claim("billing", "charge"))
        .await
        .expect("claim")
        .remove(0);
    store
        .job_doubt(Fence::of(&doubtful), "provider timed out", Duration::ZERO)
        .await
        .expect("doubt");
    let hostile = store
        .job_insert(&NewJob::new(
            "mail",
            "welcome",
            json!({"name": "<script>alert(1)</script>"}),
        ))
        .await
        .expect("insert")
        .job;
    store
        .schedule_upsert(&oncely::schedule::Schedule::new(
            "nightly-invoices",
            oncely::schedule::Spec::cron("0 2 * * *"),
            "billing",
            "send",
            json!({}),
        ))
        .await
        .expect("schedule");
    store
        .job_insert(
            &oncely::kinds::command::CommandArgs::new_job("demo", vec!["true".into()])
                .expect("job"),
        )
        .await
        .expect("insert");

    let mut console = Command::new(BIN)
        .args(["dashboard", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .env("ONCELY_DATABASE_URL", &db.url)
        .env("ONCELY_LOG", "oncely=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("console");
    let mut banner = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(console.stdout.take().expect("stdout")),
        &mut banner,
    )
    .expect("banner");
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL")
        .to_owned();
    let mut worker = Command::new(BIN)
        .args(["worker", "--queues", "demo=2", "--poll-interval-ms", "100"])
        .arg("--allow-any-program")
        .env("ONCELY_DATABASE_URL", &db.url)
        .env("ONCELY_LOG", "oncely=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("worker");

    // Jobs keep arriving while the browser watches.
    let feeder = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                let job = oncely::kinds::command::CommandArgs::new_job("demo", vec!["true".into()])
                    .expect("job");
                if store.job_insert(&job).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts");
    let ids = json!({
        "discarded": failing.id,
        "discarded_fence": failing.fence,
        "in_doubt": doubtful.id,
        "hostile": hostile.id,
    });
    let run = tokio::process::Command::new("node")
        .arg(here().join("console.mjs"))
        .args([
            &base,
            TOKEN,
            &artifacts.display().to_string(),
            &ids.to_string(),
        ])
        .env("CHROMIUM", &chromium)
        .current_dir(here())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finished within 3 minutes")
        .expect("node runs (Node 20 is needed)");
    feeder.abort();
    let _ = feeder.await;
    for child in [&mut console, &mut worker] {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser checks failed (screenshots in {}):\n{stdout}\n{stderr}",
        artifacts.display()
    );
    assert!(stdout.contains("browser checks passed"), "{stdout}");
    for shot in ["overview.png", "job.png", "in-doubt.png", "hostile.png"] {
        assert!(artifacts.join(shot).exists(), "{shot} saved");
    }
    let resolved = store.job_get(doubtful.id).await.expect("get").expect("job");
    assert_eq!(resolved.state, oncely::JobState::Completed);
    let retried = store.job_get(failing.id).await.expect("get").expect("job");
    assert_ne!(retried.state, oncely::JobState::Discarded);
}
