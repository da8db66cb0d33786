//! Periodic jobs across real worker processes: once per period under
//! kill -9 and restarts, leader failover, and a leader with a skewed clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oncely::store::Store;
use oncely_testkit::{Backend, TestDb};

use super::support::{eventually, oncely, WorkerProcess};

/// Fired periods of schedule `name`, with how many jobs each got.
async fn periods(store: &Store, name: &str) -> HashMap<String, u32> {
    let jobs = store
        .job_list(&oncely::store::JobFilter {
            limit: Some(100_000),
            ..Default::default()
        })
        .await
        .expect("list");
    let prefix = format!("schedule:{name}:");
    let mut seen = HashMap::new();
    for job in jobs {
        if let Some(period) = job
            .unique_key
            .as_deref()
            .and_then(|k| k.strip_prefix(&prefix))
        {
            *seen.entry(period.to_owned()).or_default() += 1;
        }
    }
    seen
}

fn worker(url: &str, id: &str, ttl: &str) -> WorkerProcess {
    WorkerProcess::start(
        url,
        &[
            "--queues",
            "ticks=4",
            "--worker-id",
            id,
            "--leader-ttl-secs",
            ttl,
            "--lease-secs",
            "2",
            "--poll-interval-ms",
            "100",
            "--shutdown-grace-secs",
            "1",
        ],
        &[],
    )
}

/// A tiny deterministic generator, to pick victims without a dependency.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn once_per_period_under_kills(backend: Backend) {
    const PERIODS: i64 = 60;
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("ticks.log");
    let script = format!("echo $ONCELY_PERIOD >> {}", log.display());
    let out = oncely(
        &db.url,
        &[
            "schedule",
            "add",
            "tick",
            "--every",
            "1",
            "--catch-up",
            "all",
            "--queue",
            "ticks",
            "--",
            "sh",
            "-c",
            &script,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut workers: Vec<WorkerProcess> = (0..5)
        .map(|i| worker(&db.url, &format!("w{i}"), "2"))
        .collect();
    let started = Instant::now();
    let mut rng = Lcg(0x5eed);
    let mut kills = 0;
    while (periods(&store, "tick").await.len() as i64) < PERIODS {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let victim = rng.below(workers.len() as u64) as usize;
        workers[victim].signal("KILL");
        let _ = workers[victim].wait_exit();
        workers[victim] = worker(&db.url, &format!("w{victim}-{kills}"), "2");
        kills += 1;
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "60 periods took too long"
        );
    }
    for w in &mut workers {
        w.signal("TERM");
        let _ = w.wait_exit();
    }
    let fired = periods(&store, "tick").await;
    let twice: Vec<_> = fired.iter().filter(|(_, &n)| n != 1).collect();
    assert!(
        twice.is_empty(),
        "periods with more than one job: {twice:?}"
    );
    // Catch-up `all`: no period between the first and the last is missing.
    let mut starts: Vec<i64> = fired
        .keys()
        .map(|p| {
            chrono::DateTime::parse_from_rfc3339(p)
                .expect("period")
                .timestamp()
        })
        .collect();
    starts.sort_unstable();
    let span = starts.last().expect("some") - starts.first().expect("some") + 1;
    assert_eq!(span, starts.len() as i64, "a period was missed: {starts:?}");
    println!(
        "{backend:?}: {} periods fired once each across 5 processes with {kills} kill -9s",
        starts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_per_period_under_kills_on_postgres() {
    once_per_period_under_kills(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_per_period_under_kills_on_sqlite() {
    once_per_period_under_kills(Backend::Sqlite).await
}

async fn leader_failover(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ttl = 3.0;
    let mut workers: HashMap<String, WorkerProcess> = (0..3)
        .map(|i| {
            let id = format!("w{i}");
            let w = worker(&db.url, &id, &ttl.to_string());
            (id, w)
        })
        .collect();
    let live_leader = || async {
        let now = store.db_now().await.expect("now");
        store
            .leader_get()
            .await
            .expect("leader")
            .filter(|l| l.expires_at > now)
    };
    eventually("a leader", 30, || async { live_leader().await.is_some() }).await;
    let first = live_leader().await.expect("leader");
    // kill -9: the others take over once the lease has run out.
    let killed_at = Instant::now();
    let mut victim = workers
        .remove(&first.leader_id)
        .expect("leader is one of ours");
    victim.signal("KILL");
    let _ = victim.wait_exit();
    eventually("a new leader after kill -9", 30, || async {
        live_leader()
            .await
            .is_some_and(|l| l.leader_id != first.leader_id)
    })
    .await;
    let after_kill = killed_at.elapsed();
    let second = live_leader().await.expect("leader");
    assert!(second.term > first.term);
    assert!(
        after_kill < Duration::from_secs_f64(ttl * 3.0),
        "took {after_kill:?}"
    );
    // SIGTERM: the leader resigns and another takes over at once, long before its lease would end.
    let stopped_at = Instant::now();
    let mut leaving = workers
        .remove(&second.leader_id)
        .expect("leader is one of ours");
    leaving.signal("TERM");
    eventually("a new leader after SIGTERM", 30, || async {
        live_leader()
            .await
            .is_some_and(|l| l.leader_id != second.leader_id)
    })
    .await;
    let after_term = stopped_at.elapsed();
    assert!(leaving.wait_exit().success());
    let third = live_leader().await.expect("leader");
    assert!(third.term > second.term);
    println!("{backend:?}: new leader {after_kill:.2?} after kill -9 (ttl {ttl} s), {after_term:.2?} after SIGTERM");
    for w in workers.values_mut() {
        w.signal("TERM");
        let _ = w.wait_exit();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_failover_on_postgres() {
    leader_failover(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_failover_on_sqlite() {
    leader_failover(Backend::Sqlite).await
}

/// A leader whose clock is an hour ahead fires periods by database time:
/// nothing early (no period in the future), nothing an hour late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_leader_fires_on_database_time() {
    let libfaketime = super::crashes::libfaketime();
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let out = oncely(
        &db.url,
        &[
            "schedule", "add", "tick", "--every", "1", "--queue", "ticks", "--", "true",
        ],
    );
    assert!(out.status.success());
    let mut leader = WorkerProcess::start(
        &db.url,
        &["--queues", "ticks=2", "--leader-ttl-secs", "2"],
        &[("LD_PRELOAD", libfaketime), ("FAKETIME", "+1h")],
    );
    eventually("three periods fired", 30, || async {
        periods(&store, "tick").await.len() >= 3
    })
    .await;
    leader.signal("TERM");
    assert!(leader.wait_exit().success());
    let now = store.db_now().await.expect("now");
    for period in periods(&store, "tick").await.keys() {
        let start = chrono::DateTime::parse_from_rfc3339(period)
            .expect("period")
            .with_timezone(&chrono::Utc);
        assert!(
            start <= now,
            "period {start} fired before it began (db now {now})"
        );
        assert!(
            now - start < chrono::Duration::seconds(60),
            "period {start} is far from db time {now}"
        );
    }
}
