//! `oncely-bench --hosts 1,2,4,8`: drain throughput as the number of hosts
//! grows. Each host is a network namespace of the test kit ([`Host`]) that
//! reaches PostgreSQL only through its own TCP proxy, and runs `--clients`
//! worker processes (this benchmark in worker mode, `--host-worker URL`),
//! each one client of `--concurrency` — by default 8 × 25, so 8 hosts are 64
//! worker processes. All hosts drain one backlog of `--jobs` no-op jobs on one
//! PostgreSQL; the table shows where adding hosts stops adding throughput.
//! With `--partition-secs S` the first host's proxy stalls for S seconds
//! once a third of the backlog is done (a partition: connections stay open,
//! nothing passes): its jobs must be rescued and run elsewhere, none lost.
//! With `--host-pooler-connections N` the proxies forward to a PgBouncer in
//! transaction mode (N server connections) in front of PostgreSQL.
//!
//! Invariant: every worker process, namespace and proxy of a run is gone
//! before the next run starts (children killed and reaped, hosts dropped).

use std::process::Stdio;
use std::time::{Duration, Instant};

use oncely::Client;
use oncely_testkit::{Backend, Bouncer, Host, PoolMode, StallProxy};

use crate::scenarios::{self, Row, Settings};

/// Lease of the worker processes, and the partition to inflict.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Lease (and leadership) of every worker process.
    pub lease: Duration,
    /// How long the first host is cut off mid-run (none: no partition).
    pub partition: Option<Duration>,
    /// Added by every host's proxy to each chunk, each way.
    pub latency: Duration,
    /// Server connections of a PgBouncer in transaction mode between the
    /// proxies and PostgreSQL (none: the proxies reach PostgreSQL directly).
    pub pooler: Option<u32>,
}

fn worker_config(lease: Duration) -> oncely::worker::ClientConfig {
    let mut config = oncely::worker::ClientConfig::default().with_lease(lease);
    config.leader.ttl = lease;
    config
}

/// Worker mode: `--clients` clients (1 when started by [`run`]) draining the benchmark queue at `url`
/// until stdin closes.
pub async fn work(url: &str, s: &Settings, lease: Duration) -> Result<(), String> {
    let mut all = Vec::new();
    for _ in 0..s.clients {
        let store = oncely::connect(url)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        all.push(scenarios::noop_client(
            store,
            s.concurrency,
            worker_config(lease),
        )?);
    }
    let running: Vec<_> = all.iter().map(Client::start).collect();
    // The parent closes our stdin when the backlog is drained.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
    for r in running {
        r.shutdown().await;
    }
    Ok(())
}

/// One drain per entry of `hosts`.
pub async fn run(hosts: &[u32], s: &Settings, faults: Faults) -> Result<Vec<Row>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut rows = Vec::new();
    for &n in hosts {
        let n = n.clamp(1, 64);
        eprintln!(
            "oncely-bench: {n} hosts x {} clients x {}",
            s.clients, s.concurrency
        );
        let (db, store) = scenarios::fresh(Backend::Postgres, s).await?;
        scenarios::insert_backlog(&store, s.jobs).await?;
        let made: Vec<Result<Host, String>> =
            tokio::task::spawn_blocking(move || (0..n).map(|i| Host::create(i as u8)).collect())
                .await
                .map_err(|e| e.to_string())?;
        let hosts: Vec<Host> = made.into_iter().collect::<Result<_, _>>()?;
        let pg = db.postgres_addr();
        // Through PgBouncer, the proxies forward to it and the workers use
        // its URL (in transaction mode, polling).
        let (bouncer, target, url) = match faults.pooler {
            None => (None, pg, db.url.clone()),
            Some(connections) => {
                let port = pg.port();
                let bouncer = tokio::task::spawn_blocking(move || {
                    Bouncer::start(port, PoolMode::Transaction, connections)
                })
                .await
                .map_err(|e| e.to_string())??;
                let name = db.url.rsplit('/').next().unwrap_or_default().to_owned();
                let url = bouncer.url(&name, false);
                let at = std::net::SocketAddr::from(([127, 0, 0, 1], bouncer.port()));
                (Some(bouncer), at, url)
            }
        };
        let mut proxies = Vec::new();
        for host in &hosts {
            let proxy = StallProxy::start_on(host.gateway().into(), target).await;
            proxy.set_latency(faults.latency);
            proxies.push(proxy);
        }
        let started = Instant::now();
        let mut children = Vec::new();
        for (host, proxy) in hosts.iter().zip(&proxies) {
            for _ in 0..s.clients {
                let child = tokio::process::Command::from(host.command(&exe.to_string_lossy()))
                    .arg("--host-worker")
                    .arg(proxy.url_for(&url))
                    .args(["--clients", "1"])
                    .args(["--host-lease-ms", &faults.lease.as_millis().to_string()])
                    .args(["--concurrency", &s.concurrency.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| format!("starting a worker in a namespace: {e}"))?;
                children.push(child);
            }
        }
        let (mut cut, mut healed) = (None::<Instant>, false);
        let left = loop {
            let counts = store
                .queue_counts()
                .await
                .map_err(|e| format!("counting: {e}"))?;
            let done: i64 = counts
                .iter()
                .filter(|c| c.state == oncely::JobState::Completed)
                .map(|c| c.count)
                .sum();
            if done >= i64::from(s.jobs) {
                break 0;
            }
            if let Some(length) = faults.partition {
                match cut {
                    None if done * 3 >= i64::from(s.jobs) => {
                        proxies[0].stall();
                        eprintln!("oncely-bench: host 1 cut off for {length:?}");
                        cut = Some(Instant::now());
                    }
                    Some(at) if !healed && at.elapsed() >= length => {
                        proxies[0].resume();
                        healed = true;
                    }
                    _ => {}
                }
            }
            if started.elapsed() > Duration::from_secs(600) {
                break i64::from(s.jobs) - done;
            }
            // Counting scans the whole backlog: often enough for the timing
            // (runs last seconds), rarely enough not to load the server measured.
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let took = started.elapsed();
        if cut.is_some() && !healed {
            proxies[0].resume();
        }
        for mut child in children {
            drop(child.stdin.take());
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        drop(proxies);
        drop(hosts);
        drop(bouncer);
        if left > 0 {
            return Err(format!("{n} hosts: {left} jobs left after 600 s"));
        }
        let mut rescued = 0;
        if faults.partition.is_some() {
            let all = store
                .job_list(&oncely::store::JobFilter {
                    limit: Some(s.jobs.saturating_mul(2)),
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("listing: {e}"))?;
            rescued = all.iter().filter(|j| j.attempt > 1).count();
            let unfinished = all
                .iter()
                .filter(|j| j.state != oncely::JobState::Completed)
                .count();
            eprintln!(
                "oncely-bench: {n} hosts, host 1 cut off: {rescued} jobs rescued and run again elsewhere, {unfinished} not completed"
            );
            if unfinished > 0 {
                return Err(format!(
                    "{unfinished} jobs not completed after the partition"
                ));
            }
        }
        let via = match faults.pooler {
            None => String::new(),
            Some(c) => format!(", PgBouncer {c}"),
        };
        let label = match faults.partition {
            None => format!(
                "drain across {n} hosts ({} worker processes{via})",
                n * s.clients
            ),
            Some(p) => format!(
                "drain, {n} hosts ({} procs{via}), host 1 cut {}s, {rescued} rescued",
                n * s.clients,
                p.as_secs()
            ),
        };
        rows.push(scenarios::row(Backend::Postgres, label, s.jobs, took));
    }
    Ok(rows)
}
