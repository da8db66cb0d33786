//! Running `oncely` processes in tests.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use oncely::{JobState, Store};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_oncely");

/// Runs `oncely ARGS` against `url` to completion.
pub fn oncely(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ONCELY_DATABASE_URL", url)
        .stdin(Stdio::null())
        .output()
        .expect("running oncely")
}

/// A worker process, SIGKILLed on drop if still running.
pub struct WorkerProcess {
    pub child: Child,
}

impl WorkerProcess {
    /// Starts `oncely worker EXTRA...` against `url` with extra environment
    /// variables (e.g. to preload libfaketime).
    pub fn start(url: &str, extra: &[&str], env: &[(&str, &str)]) -> WorkerProcess {
        // Tests run shells and helpers: allow any program unless the test
        // says which.
        let allow: &[&str] = if extra.iter().any(|a| a.starts_with("--allow")) {
            &[]
        } else {
            &["--allow-any-program"]
        };
        let child = Command::new(BIN)
            .arg("worker")
            .args(allow)
            .args(extra)
            .env("ONCELY_DATABASE_URL", url)
            .env("ONCELY_LOG", "oncely=warn")
            // libfaketime: skew the wall clock only, never the monotonic one.
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting a worker");
        WorkerProcess { child }
    }

    /// Sends a signal with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit (up to 60 s).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("worker did not exit within 60 s");
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Count of jobs in `state`.
pub async fn count(store: &Store, state: JobState) -> i64 {
    store
        .queue_counts()
        .await
        .expect("counts")
        .iter()
        .filter(|c| c.state == state)
        .map(|c| c.count)
        .sum()
}

/// The state of job `id` (which must exist).
pub async fn state_of(store: &Store, id: i64) -> JobState {
    store
        .job_get(id)
        .await
        .expect("get")
        .expect("job exists")
        .state
}

/// Waits (up to `secs`) until `check` is true.
pub async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {secs} s waiting for: {what}");
}
