//! With the `otlp` feature, `oncely worker --otlp-endpoint URL` exports its
//! spans over OTLP/HTTP: an in-process collector (axum) receives the
//! protobuf batches and finds the attempt's span with its attributes and the
//! service name. Runs in `scripts/test.sh` (which enables every feature).
#![cfg(feature = "otlp")]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use oncely_testkit::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_oncely");

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_attempt_spans_reach_the_collector() {
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let app = {
        let received = received.clone();
        axum::Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| {
                let received = received.clone();
                async move {
                    received
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(body.to_vec());
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let collector = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let job = store
        .job_insert(
            &oncely::kinds::command::CommandArgs::new_job("q", vec!["true".into()]).expect("job"),
        )
        .await
        .expect("insert")
        .job;
    let mut worker = Command::new(BIN)
        .args([
            "--otlp-endpoint",
            &endpoint,
            "worker",
            "--allow-any-program",
            "--queues",
            "q=1",
            "--poll-interval-ms",
            "100",
        ])
        .env("ONCELY_DATABASE_URL", &db.url)
        .env("ONCELY_LOG", "oncely=info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("worker");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done = store
            .job_get(job.id)
            .await
            .ok()
            .flatten()
            .is_some_and(|j| j.state == oncely::JobState::Completed);
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not complete"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SIGTERM: the worker shuts down and flushes its spans.
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let exit = tokio::task::spawn_blocking(move || worker.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
    let _ = stop.send(());
    collector.await.expect("join").expect("serve");
    let batches = received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(!batches.is_empty(), "no OTLP request reached the collector");
    let all: Vec<u8> = batches.concat();
    for needle in ["attempt", "fence", "queue", "oncely", "command"] {
        assert!(
            contains(&all, needle),
            "{needle:?} missing from the exported spans"
        );
    }
}
