//! Helpers of the runtime tests.

use std::future::Future;
use std::time::Duration;

use oncely::worker::ClientConfig;
use oncely::{JobState, Store};

/// Sends the library's logs to the test output (shown for failing tests).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("oncely=info")),
        )
        .with_test_writer()
        .with_ansi(false)
        .try_init();
}

/// Fast timings for tests: 1.5 s lease, 100 ms polls, 300 ms grace.
pub fn fast_config() -> ClientConfig {
    init_logs();
    ClientConfig {
        poll_interval: Duration::from_millis(100),
        rescue_every: Duration::from_millis(200),
        shutdown_grace: Duration::from_millis(300),
        cancel_grace: Duration::from_millis(300),
        backoff: oncely::worker::Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        reconcile_after: Duration::from_millis(100),
        ..ClientConfig::default().with_lease(Duration::from_millis(1500))
    }
}

/// Waits (up to 60 s) until `check` is true; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// The state of job `id`.
pub async fn state_of(store: &Store, id: i64) -> JobState {
    store
        .job_get(id)
        .await
        .expect("get")
        .expect("job exists")
        .state
}
