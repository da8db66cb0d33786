//! Two hosts (network namespaces of the test kit, each reaching PostgreSQL
//! only through its own fault proxy), an `oncely worker` on each. One host is
//! partitioned — its proxy stalls: connections stay open, nothing passes —
//! longer than the lease while it runs jobs. Its jobs are rescued and run on
//! the other host, its own attempts stop at their lease deadline (their
//! programs killed before they finish), none of its late writes is accepted
//! once the network heals, and then it works again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use oncely::kinds::command::CommandArgs;
use oncely::{JobState, NewJob};
use oncely_testkit::{Backend, Host, StallProxy, TestDb};

use super::support::{count, eventually, WorkerProcess, BIN};

/// A command job that sleeps `secs`, then appends "id fence host" to `log`.
fn job(secs: u32, log: &std::path::Path) -> NewJob {
    CommandArgs::new_job(
        "q",
        vec![
            "sh".into(),
            "-c".into(),
            format!(
                "sleep {secs}; echo \"$ONCELY_JOB_ID $ONCELY_FENCE $TEST_HOST\" >> {}",
                log.display()
            ),
        ],
    )
    .expect("job")
}

fn worker_on(host: &Host, proxy: &StallProxy, url: &str, name: &str) -> WorkerProcess {
    let child = host
        .command(BIN)
        .args(["worker", "--queues", "q=12", "--lease-secs", "2"])
        .arg("--allow-any-program")
        .args(["--leader-ttl-secs", "2", "--prefetch", "0"])
        .args(["--poll-interval-ms", "200", "--worker-id", name])
        .env("ONCELY_DATABASE_URL", proxy.url_for(url))
        .env("ONCELY_LOG", "oncely=warn")
        .env("TEST_HOST", name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting a worker in a namespace");
    WorkerProcess { child }
}

/// Lines of the programs' log: (job id, fence, host).
fn ran(log: &std::path::Path) -> Vec<(i64, i64, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut parts = line.split_whitespace();
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (id, fence, host) = (next(), next(), next());
            (
                id.parse().expect("job id"),
                fence.parse().expect("fence"),
                host,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_host_loses_its_jobs_and_gets_no_late_write_accepted() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let (a, b) = tokio::task::spawn_blocking(|| (Host::create(0), Host::create(1)))
        .await
        .expect("join");
    let a = a.unwrap_or_else(|e| panic!("{e}"));
    let b = b.unwrap_or_else(|e| panic!("{e}"));
    let pg = db.postgres_addr();
    let proxy_a = StallProxy::start_on(a.gateway().into(), pg).await;
    let proxy_b = StallProxy::start_on(b.gateway().into(), pg).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("ran.log");
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(
            store
                .job_insert(&job(4, &log))
                .await
                .expect("insert")
                .job
                .id,
        );
    }
    let _on_b = worker_on(&b, &proxy_b, &db.url, "host-b");
    eventually("host b runs all twelve", 60, || async {
        count(&store, JobState::Running).await == 12
    })
    .await;
    proxy_b.stall();
    let cut_at = Instant::now();
    let mut on_a = worker_on(&a, &proxy_a, &db.url, "host-a");
    eventually("host a ran all twelve", 90, || async {
        count(&store, JobState::Completed).await == 12
    })
    .await;
    // Host b stays cut off well past its leases, then the network heals and
    // whatever it still had to say reaches the database.
    tokio::time::sleep((cut_at + Duration::from_secs(8)).saturating_duration_since(Instant::now()))
        .await;
    proxy_b.resume();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lines = ran(&log);
    for id in &ids {
        let j = store.job_get(*id).await.expect("get").expect("row");
        assert_eq!(j.state, JobState::Completed, "{j:?}");
        assert_eq!(j.attempt, 2, "b's attempt, then a's: {j:?}");
        assert!(
            j.errors.iter().any(|e| e.error.contains("lease expired")),
            "b's attempt ended with its lease: {:?}",
            j.errors
        );
        let mine: Vec<_> = lines.iter().filter(|(job, _, _)| job == id).collect();
        assert_eq!(mine.len(), 1, "job {id}'s program finished once: {lines:?}");
        assert_eq!(
            (mine[0].1, mine[0].2.as_str()),
            (j.fence, "host-a"),
            "on host a, under the token that completed it"
        );
    }
    // Healed, host b works again.
    on_a.signal("TERM");
    assert!(on_a.wait_exit().success());
    for _ in 0..2 {
        store.job_insert(&job(0, &log)).await.expect("insert");
    }
    eventually("host b works again after the partition", 60, || async {
        count(&store, JobState::Completed).await == 14
    })
    .await;
    let from_b = ran(&log)
        .into_iter()
        .filter(|(_, _, h)| h == "host-b")
        .count();
    assert_eq!(from_b, 2, "only the two new jobs ran to the end on host b");
}
