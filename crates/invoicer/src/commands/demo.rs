//! `invoicer demo`: the story in one command. For each strategy: a fresh
//! database, the billing simulator, invoices due today, several server
//! processes running the daily task at the same moment (optionally killed with
//! SIGKILL and restarted), a progress bar, then the audit.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::audit::{audit, Audit};
use crate::billing::{BillingClient, FaultsInjected};
use crate::cli::{Format, OnOff, Strategy};
use crate::db;
use crate::invoice::NewInvoice;

use super::failover::{FailoverMode, FailoverRecord, Rig};

/// `invoicer demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Strategies to run, in order (comma-separated): naive, nowait, oncely.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "oncely")]
    pub strategy: Vec<Strategy>,
    /// Server processes.
    #[arg(long, default_value_t = 4)]
    pub servers: u32,
    /// Invoices due today.
    #[arg(long, default_value_t = 1000)]
    pub invoices: u32,
    /// Does the provider honour idempotency keys?
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub idempotency: OnOff,
    /// What the servers believe about the provider's idempotency (default: the
    /// truth). A wrong belief shows what misconfiguration costs.
    #[arg(long, value_enum)]
    pub assume_idempotency: Option<OnOff>,
    /// Before the servers start, one sweep is run by a process that believes
    /// this about the provider's idempotency (a fleet configured two ways:
    /// the sweep creates the send jobs with its own effect flags, the
    /// servers run them). oncely runs every job under the strictest of the
    /// row's flags and the running worker's policy.
    #[arg(long, value_enum)]
    pub sweep_idempotency: Option<OnOff>,
    /// With idempotency off: settle in-doubt sends by asking the provider
    /// (the global `--reconcile` flag; set by `run`).
    #[arg(skip = OnOff::On)]
    pub reconcile: OnOff,
    /// Share of charges the provider records and then answers by dropping the connection.
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_commit_rate: f64,
    /// Kill a random server with SIGKILL at intervals and restart it.
    #[arg(long)]
    pub chaos: bool,
    /// Pause a random server with SIGSTOP past its lease, then SIGCONT it (a zombie).
    #[arg(long)]
    pub zombie: bool,
    /// Terminate the servers' PostgreSQL connections (pg_terminate_backend) at this interval.
    #[arg(long)]
    pub terminate_every_ms: Option<u64>,
    /// Restart PostgreSQL in immediate mode (a crash) at this interval; needs --pg-data-dir.
    #[arg(long, requires = "pg_data_dir")]
    pub pg_restart_every_ms: Option<u64>,
    /// The PostgreSQL data directory, for --pg-restart-every-ms (pg_ctl runs as its owner).
    #[arg(long)]
    pub pg_data_dir: Option<PathBuf>,
    /// Share of charges the provider delays by --spike-ms (latency spikes).
    #[arg(long, default_value_t = 0.0)]
    pub spike_rate: f64,
    /// Length of a provider latency spike (default beyond the servers' 3 s lease).
    #[arg(long, default_value_t = 5000)]
    pub spike_ms: u64,
    /// Time between kills with --chaos (the first comes as soon as the first
    /// invoice has settled: a run faster than one interval still has one).
    #[arg(long, default_value_t = 500)]
    pub chaos_interval_ms: u64,
    /// Provider latency per charge.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Seed for invoices, provider faults and chaos.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Give up on a strategy after this long.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// `invoicer chaos` only: run on a primary and a streaming standby that
    /// the command starts from the machine's PostgreSQL binaries (the
    /// Debian package `postgresql`), kill the primary with -9 mid-run and
    /// promote the standby. The servers get a URL naming both hosts.
    #[arg(long, value_enum)]
    pub failover: Option<FailoverMode>,
    /// With --failover: how many failovers, evenly spaced over the run (a
    /// new standby is built from the promoted server before each later one).
    #[arg(long, default_value_t = 1, requires = "failover")]
    pub failovers: u32,
    /// Show the servers' own logs on stderr at this level (e.g. `warn`, or
    /// `warn,oncely=debug`); by default they are silent.
    #[arg(long)]
    pub server_log: Option<String>,
    /// Output format of the results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One strategy's run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The strategy.
    pub strategy: Strategy,
    /// The audit at the end.
    pub audit: Audit,
    /// Errors the servers reported.
    pub errors_seen: u64,
    /// Servers killed.
    pub kills: u32,
    /// Servers paused past their lease and resumed.
    pub zombies: u32,
    /// Writes of stale attempts rejected by fencing (reported by servers that exited).
    pub fenced_writes_rejected: u64,
    /// Attempts their own server stopped because the lease could have ended
    /// (a zombie waking up past its lease stops instead of writing).
    pub attempts_stopped_at_lease_deadline: u64,
    /// Send attempts that went in doubt before reconciliation (reported by servers that exited).
    pub in_doubt_before_reconciliation: u64,
    /// Worker connections terminated with pg_terminate_backend.
    pub backends_terminated: u64,
    /// Immediate restarts of PostgreSQL.
    pub database_restarts: u32,
    /// Servers that exited with an error (e.g. their database connection was
    /// cut at startup) and were started again, as a supervisor would.
    pub crashes_restarted: u32,
    /// Faults the provider injected (dropped answers, latency spikes, ...).
    pub provider_faults: FaultsInjected,
    /// Faults that were asked for but never happened (the run does not
    /// show what it claims to).
    pub faults_not_injected: Vec<String>,
    /// Failovers of the PostgreSQL primary (`chaos --failover`) and what each cost.
    pub failovers: Vec<FailoverRecord>,
    /// Servers that finished while invoices were open again after a lossy
    /// failover, started again (their daily task runs once more).
    pub reruns_after_failover: u32,
    /// Wall time of the servers' work.
    pub wall_secs: f64,
    /// The run hit its timeout.
    pub timed_out: bool,
}

/// Runs the demo.
pub async fn run(database_url: &str, args: DemoArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let sim = exe.with_file_name("billing-sim");
    if !sim.exists() {
        return Err(format!(
            "billing-sim not found at {}: build it with `cargo build -p billing-sim` (same profile)",
            sim.display()
        ));
    }
    if args.failover.is_some() {
        return Err(
            "--failover belongs to `invoicer chaos` (it starts its own primary and standby)".into(),
        );
    }
    let postgres =
        database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
    if args.strategy.contains(&Strategy::Nowait) && !postgres {
        return Err("the nowait strategy needs PostgreSQL row locks (SELECT ... FOR UPDATE NOWAIT); \
                    SQLite locks the whole database. Run the demo with --database-url postgres://..."
            .into());
    }
    let mut results = Vec::new();
    for (n, strategy) in args.strategy.iter().enumerate() {
        let work = std::env::temp_dir().join(format!("invoicer-demo-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
        let url = fresh_database(database_url, &work, n).await?;
        if args.format == Format::Table {
            eprintln!(
                "\n== {:?}: {} invoices, {} servers{}, provider idempotency {}",
                strategy,
                args.invoices,
                args.servers,
                if args.chaos { ", chaos (SIGKILL)" } else { "" },
                if args.idempotency == OnOff::On {
                    "on"
                } else {
                    "off"
                }
            );
        }
        let result = run_strategy(&exe, &sim, &url, &work, *strategy, &args, None).await;
        let _ = std::fs::remove_dir_all(&work);
        results.push(result?);
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?
        ),
        Format::Table => print_table(&results),
    }
    Ok(())
}

/// Name of run `n`'s PostgreSQL database.
fn database_name(n: usize) -> String {
    format!("invoicer_demo_{}_{n}", std::process::id())
}

/// A fresh database for one run: a new SQLite file, or a new PostgreSQL database.
async fn fresh_database(base: &str, work: &Path, n: usize) -> Result<String, String> {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        use sqlx::Connection;
        let name = database_name(n);
        let mut admin = sqlx::PgConnection::connect(base)
            .await
            .map_err(|e| format!("connecting to {base}: {e}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("creating database {name} (the demo needs CREATEDB): {e}"))?;
        let (head, query) = base
            .split_once('?')
            .map_or((base, String::new()), |(h, q)| (h, format!("?{q}")));
        let host = head.rsplit_once('/').map_or(head, |(h, _)| h);
        Ok(format!("{host}/{name}{query}"))
    } else if base.starts_with("mysql://") || base.starts_with("mariadb://") {
        use sqlx::Connection;
        let name = database_name(n);
        let mut admin = oncely::store::mariadb::connect_one(base)
            .await
            .map_err(|e| format!("connecting to {base}: {e}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("creating database {name} (the demo needs CREATE): {e}"))?;
        let _ = admin.close().await;
        let start = base.find("://").map_or(0, |i| i + 3);
        let host = match base[start..].find('/') {
            Some(slash) => &base[..start + slash],
            None => base,
        };
        Ok(format!("{host}/{name}"))
    } else {
        Ok(format!("sqlite://{}", work.join("demo.db").display()))
    }
}

async fn run_strategy(
    exe: &Path,
    sim: &Path,
    url: &str,
    work: &Path,
    strategy: Strategy,
    args: &DemoArgs,
    mut rig: Option<&mut Rig>,
) -> Result<RunResult, String> {
    let (db, store) = db::open(url).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let invoices: Vec<NewInvoice> = (0..args.invoices)
        .map(|_| NewInvoice {
            customer_id: format!("cus_{:04}", rng.u32(0..200)),
            amount_cents: rng.i64(100..100_000),
            currency: ["EUR", "USD", "GBP"][rng.usize(..3)].into(),
            due_in_days: 0,
        })
        .collect();
    db.insert(&invoices).await.map_err(|e| e.to_string())?;

    if let (Strategy::Oncely, Some(belief)) = (strategy, args.sweep_idempotency) {
        crate::sweep::sweep(&db, &store, 0, belief == OnOff::Off).await?;
    }
    let (mut provider, billing_url) = start_simulator(sim, work, args).await?;
    let billing = BillingClient::new(&billing_url, Duration::from_secs(10))?;
    let spawn = |i: u32| {
        Command::new(exe)
            .args([
                "bill-pending",
                "--strategy",
                strategy_name(strategy),
                "--name",
                &format!("server-{i}"),
            ])
            .args([
                "--provider-idempotency",
                if args.assume_idempotency.unwrap_or(args.idempotency) == OnOff::On {
                    "on"
                } else {
                    "off"
                },
            ])
            .args([
                "--reconcile",
                if args.reconcile == OnOff::On {
                    "on"
                } else {
                    "off"
                },
            ])
            .args(["--lease-secs", "3", "--days-ahead", "0"])
            .env("ONCELY_DATABASE_URL", url)
            .env("INVOICER_BILLING_URL", &billing_url)
            .env(
                "INVOICER_LOG",
                args.server_log.as_deref().unwrap_or("error"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if args.server_log.is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting a server: {e}"))
    };
    let bar = indicatif::ProgressBar::new(u64::from(args.invoices));
    if args.format == Format::Table {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} invoices settled {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let (mut terminate_failures, mut terminate_error) = (0u32, None::<String>);
    // Opened before the servers take the connection slots.
    let mut terminator = None;
    if args.terminate_every_ms.is_some() {
        if let Err(e) = terminate_backends(url, &mut terminator).await {
            terminate_error = Some(e);
        }
    }
    let mut servers: Vec<Option<Child>> = (0..args.servers)
        .map(|i| spawn(i).map(Some))
        .collect::<Result<_, _>>()?;
    let (mut errors_seen, mut kills, mut timed_out) = (0u64, 0u32, false);
    let (mut zombies, mut fenced, mut doubted, mut terminated) = (0u32, 0u64, 0u64, 0u64);
    let mut stopped = 0u64;
    let mut crashes = 0u32;
    let mut rerun_after_failover = 0u32;
    let mut restarts = 0u32;
    let mut last_restart = Instant::now();
    let mut last_terminate = Instant::now();
    let mut paused: Option<(usize, Instant)> = None;
    let mut zombie_slot: Option<usize> = None;
    // None until the first kill.
    let mut last_kill: Option<Instant> = None;
    let mut chaos_rng = fastrand::Rng::with_seed(args.seed ^ 0x9e37_79b9);
    let mut last_settled;
    loop {
        // Bounded: a pool whose server is gone retries its connection
        // until its acquire timeout.
        let counts = match tokio::time::timeout(Duration::from_secs(2), db.status_counts()).await {
            Ok(Ok(c)) => c,
            Ok(Err(_)) | Err(_) => {
                // A terminated connection, a restarting server, or a
                // primary gone (then the pool finds the promoted one).
                let _ = store.ensure_primary().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let settled: i64 = counts
            .iter()
            .filter(|(s, _)| s == "sent" || s == "failed" || s == "in_doubt")
            .map(|(_, n)| n)
            .sum();
        bar.set_position(settled.max(0) as u64);
        last_settled = settled;
        let work_left = settled < i64::from(args.invoices);
        for (i, slot) in servers.iter_mut().enumerate() {
            if let Some(child) = slot {
                if let Ok(Some(status)) = child.try_wait() {
                    let (errors, rejected, doubts, deadline_stops) = read_report(child).await;
                    stopped += deadline_stops;
                    errors_seen += errors;
                    fenced += rejected;
                    doubted += doubts;
                    *slot = None;
                    // Like a process supervisor: a server that failed while
                    // work remains is started again. Across a lossy
                    // failover also one that finished: it may have seen
                    // the last invoices settled in commits the promoted
                    // standby never received (the daily task runs again).
                    if !status.success() && work_left {
                        crashes += 1;
                        *slot = Some(spawn(i as u32)?);
                    } else if work_left && rig.is_some() {
                        rerun_after_failover += 1;
                        *slot = Some(spawn(i as u32)?);
                    }
                }
            }
        }
        if servers.iter().all(Option::is_none) {
            break;
        }
        if let Some(rig) = rig.as_deref_mut() {
            let running = servers.iter().filter(|s| s.is_some()).count();
            rig.observe(settled, running).await?;
            if work_left && rig.due(settled, args.invoices) {
                bar.set_message("(failing over)".to_owned());
                rig.fail_over(settled, running).await?;
                bar.set_message(format!("({} failovers)", rig.done.len() + 1));
            }
        }
        if started.elapsed() > Duration::from_secs(args.timeout_secs) {
            timed_out = true;
            break;
        }
        if let (Some(every), Some(dir)) = (args.pg_restart_every_ms, &args.pg_data_dir) {
            if work_left && last_restart.elapsed() >= Duration::from_millis(every) {
                restart_postgres(dir).await?;
                restarts += 1;
                last_restart = Instant::now();
            }
        }
        if let Some(every) = args.terminate_every_ms {
            if work_left && last_terminate.elapsed() >= Duration::from_millis(every) {
                match terminate_backends(url, &mut terminator).await {
                    Ok(n) => terminated += n,
                    Err(e) => {
                        terminate_failures += 1;
                        terminate_error = Some(e);
                    }
                }
                last_terminate = Instant::now();
            }
        }
        if let Some((i, since)) = paused {
            // Lease 3 s: resume well after another server took the jobs over.
            if since.elapsed() >= Duration::from_secs(6) {
                signal(servers[i].as_ref(), "CONT");
                paused = None;
            }
        } else if args.zombie
            && work_left
            && settled >= i64::from(args.invoices / 10)
            && zombies == 0
        {
            let alive: Vec<usize> = servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_some())
                .map(|(i, _)| i)
                .collect();
            if alive.len() > 1 {
                let i = alive[chaos_rng.usize(..alive.len())];
                signal(servers[i].as_ref(), "STOP");
                paused = Some((i, Instant::now()));
                zombie_slot = Some(i);
                zombies += 1;
            }
        }
        let kill_due = match last_kill {
            None => settled > 0,
            Some(at) => at.elapsed() >= Duration::from_millis(args.chaos_interval_ms),
        };
        if args.chaos && work_left && kill_due {
            // The zombie is spared: it must wake up, stop or be fenced out, and report it.
            let zombie = zombie_slot;
            let alive: Vec<usize> = servers
                .iter()
                .enumerate()
                .filter(|(i, s)| s.is_some() && Some(*i) != zombie)
                .map(|(i, _)| i)
                .collect();
            if !alive.is_empty() {
                let victim = alive[chaos_rng.usize(..alive.len())];
                if let Some(mut child) = servers[victim].take() {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    kills += 1;
                    bar.set_message(format!("({kills} servers killed)"));
                }
                servers[victim] = Some(spawn(victim as u32)?);
            }
            last_kill = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let failovers = match rig.as_deref_mut() {
        Some(rig) => {
            rig.finish(last_settled).await;
            rig.done.clone()
        }
        None => Vec::new(),
    };
    for child in servers.iter_mut().flatten() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let result = audit(&db, &store, &billing).await;
    let doubted = doubted.max(ever_in_doubt(&store).await);
    let provider_faults = billing.faults_injected().await?;
    let mut faults_not_injected = Vec::new();
    let mut missing = |asked: bool, happened: bool, what: String| {
        if asked && !happened {
            faults_not_injected.push(what);
        }
    };
    missing(args.chaos, kills > 0, "--chaos killed no server".into());
    missing(args.zombie, zombies > 0, "--zombie paused no server".into());
    missing(
        args.terminate_every_ms.is_some(),
        terminated > 0,
        format!(
            "--terminate-every-ms terminated no connection ({terminate_failures} attempts failed{})",
            terminate_error.map(|e| format!("; last: {e}")).unwrap_or_default()
        ),
    );
    missing(
        args.pg_restart_every_ms.is_some() && args.pg_data_dir.is_some(),
        restarts > 0,
        "--pg-restart-every-ms restarted nothing".into(),
    );
    missing(
        args.drop_after_commit_rate > 0.0,
        provider_faults.dropped_after_commit > 0,
        "--drop-after-commit-rate dropped no answer".into(),
    );
    missing(
        args.spike_rate > 0.0,
        provider_faults.latency_spikes > 0,
        "--spike-rate delayed no charge".into(),
    );
    if let Some(rig) = rig.as_deref() {
        missing(
            true,
            failovers.len() as u32 >= rig.planned(),
            format!(
                "--failovers {} failed over {} times (the run ended first)",
                rig.planned(),
                failovers.len()
            ),
        );
    }
    let _ = provider.start_kill();
    let _ = provider.wait().await;
    Ok(RunResult {
        failovers,
        reruns_after_failover: rerun_after_failover,
        strategy,
        audit: result?,
        errors_seen,
        kills,
        zombies,
        fenced_writes_rejected: fenced,
        attempts_stopped_at_lease_deadline: stopped,
        in_doubt_before_reconciliation: doubted,
        backends_terminated: terminated,
        crashes_restarted: crashes,
        database_restarts: restarts,
        provider_faults,
        faults_not_injected,
        wall_secs,
        timed_out,
    })
}

fn strategy_name(s: Strategy) -> &'static str {
    match s {
        Strategy::Naive => "naive",
        Strategy::Nowait => "nowait",
        Strategy::Oncely => "oncely",
    }
}

async fn start_simulator(
    sim: &Path,
    work: &Path,
    args: &DemoArgs,
) -> Result<(Child, String), String> {
    let ledger: PathBuf = work.join("ledger.jsonl");
    let mut child = Command::new(sim)
        .args(["--port", "0", "--latency-ms", &args.latency_ms.to_string()])
        .args([
            "--idempotency",
            if args.idempotency == OnOff::On {
                "on"
            } else {
                "off"
            },
        ])
        .args(["--seed", &args.seed.to_string()])
        .args([
            "--drop-after-commit-rate",
            &args.drop_after_commit_rate.to_string(),
        ])
        .args(["--spike-rate", &args.spike_rate.to_string()])
        .args(["--spike-ms", &args.spike_ms.to_string()])
        .arg("--ledger")
        .arg(&ledger)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting billing-sim: {e}"))?;
    let stdout = child.stdout.take().ok_or("billing-sim has no stdout")?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .map_err(|_| "billing-sim did not start within 10 s".to_owned())?
    .map_err(|e| format!("reading billing-sim: {e}"))?;
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .ok_or_else(|| format!("unexpected billing-sim banner {line:?}"))?
        .to_owned();
    Ok((child, url))
}

/// The `errors`, `fenced`, `in_doubt` and `stopped_at_deadline` counts a
/// finished server printed (0 if none).
async fn read_report(child: &mut Child) -> (u64, u64, u64, u64) {
    let Some(mut stdout) = child.stdout.take() else {
        return (0, 0, 0, 0);
    };
    let mut text = String::new();
    let _ = stdout.read_to_string(&mut text).await;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .fold((0, 0, 0, 0), |(e, f, d, s), v| {
            (
                e + v["errors"].as_u64().unwrap_or(0),
                f + v["fenced"].as_u64().unwrap_or(0),
                d + v["in_doubt"].as_u64().unwrap_or(0),
                s + v["stopped_at_deadline"].as_u64().unwrap_or(0),
            )
        })
}

/// Send jobs that were in doubt at some point: in doubt now, claimed for
/// reconciliation, or carrying an uncertain outcome or an expired at-most-once lease.
async fn ever_in_doubt(store: &oncely::Store) -> u64 {
    let filter = oncely::store::JobFilter {
        queue: Some(crate::send::QUEUE.into()),
        limit: Some(10_000_000),
        ..Default::default()
    };
    let Ok(jobs) = store.job_list(&filter).await else {
        return 0;
    };
    jobs.iter()
        .filter(|j| j.at_most_once)
        .filter(|j| {
            j.state == oncely::JobState::InDoubt
                || j.reconciling
                || j.errors.iter().any(|e| {
                    e.error.contains("outcome unknown")
                        || e.error.contains("lease expired")
                        || e.error.starts_with("reconcile")
                })
        })
        .count() as u64
}

/// Terminates the servers' PostgreSQL connections (those named `oncely`)
/// over `conn`, kept open across calls (opened on first use, so that a full
/// server cannot refuse it later; dropped after an error and opened again);
/// returns how many, or why it could not. SQLite: nothing to terminate.
async fn terminate_backends(
    url: &str,
    conn: &mut Option<sqlx::PgConnection>,
) -> Result<u64, String> {
    use sqlx::Connection;
    if !url.starts_with("postgres") {
        return Ok(0);
    }
    let mut open = match conn.take() {
        Some(c) => c,
        None => sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| format!("connecting to terminate backends: {e}"))?,
    };
    let n: i64 = sqlx::query_scalar(include_str!("../db/postgres/sql/terminate_workers.sql"))
        .fetch_one(&mut open)
        .await
        .map_err(|e| format!("terminating backends: {e}"))?;
    *conn = Some(open);
    Ok(n.max(0) as u64)
}

/// `pg_ctl restart -m immediate` on `dir`, as the directory's owner (pg_ctl
/// refuses root): every connection is cut and the server recovers from its WAL.
async fn restart_postgres(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::metadata(dir).map_err(|e| format!("--pg-data-dir {}: {e}", dir.display()))?;
    let pg_ctl = [
        "/usr/lib/postgresql/15/bin/pg_ctl",
        "/usr/local/bin/pg_ctl",
        "/usr/bin/pg_ctl",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .unwrap_or("pg_ctl");
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={}", meta.uid()))
        .arg(format!("--regid={}", meta.gid()))
        .arg("--clear-groups")
        .arg(pg_ctl)
        .args(["restart", "-m", "immediate", "-w", "-D"])
        .arg(dir)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null()); // never pipes: the new postmaster inherits them
    let status = command.status().await.map_err(|e| format!("pg_ctl: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "pg_ctl restart -m immediate -D {} failed ({status})",
            dir.display()
        ))
    }
}

/// `invoicer chaos`: one strategy (oncely unless `--strategy` says another)
/// under the selected faults, on PostgreSQL; prints the invariants and fails
/// if one breaks.
pub async fn chaos(database_url: &str, args: DemoArgs) -> Result<(), String> {
    let server = ["postgres://", "postgresql://", "mysql://", "mariadb://"]
        .iter()
        .any(|scheme| database_url.starts_with(scheme));
    if !server && args.failover.is_none() {
        return Err(
            "invoicer chaos runs on a database server: give --database-url postgres://... or mysql://... (a user that may create databases), or --failover sync|async to run on a PostgreSQL primary and standby it starts"
                .into(),
        );
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let sim = exe.with_file_name("billing-sim");
    if !sim.exists() {
        return Err(format!("billing-sim not found at {}", sim.display()));
    }
    // One strategy: oncely by default; the post's `nowait` (or `naive`)
    // shows the verifier catching what those strategies do under faults.
    let strategy = match args.strategy.as_slice() {
        [one] => *one,
        _ => {
            return Err(
                "invoicer chaos verifies one strategy at a time: give one --strategy".into(),
            )
        }
    };
    let work = std::env::temp_dir().join(format!("invoicer-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let mut rig = match args.failover {
        Some(mode) => Some(Rig::start(mode, args.failovers, &database_name(0))?),
        None => None,
    };
    let url = match &rig {
        Some(rig) => {
            fresh_database(&rig.admin_url(), &work, 0).await?;
            rig.url()
        }
        None => fresh_database(database_url, &work, 0).await?,
    };
    let r = run_strategy(&exe, &sim, &url, &work, strategy, &args, rig.as_mut()).await;
    drop(rig);
    let _ = std::fs::remove_dir_all(&work);
    let r = r?;
    let a = &r.audit;
    let settles = args.idempotency == OnOff::On || args.reconcile == OnOff::On;
    let mut broken = Vec::new();
    if a.duplicate_charges > 0 {
        broken.push(format!("{} duplicate charges", a.duplicate_charges));
    }
    if a.open > 0 {
        broken.push(format!(
            "{} invoices lost (not sent, not failed, not in doubt)",
            a.open
        ));
    }
    if a.sent_without_charge + a.charged_not_marked_sent > 0 {
        broken.push("the books disagree with the provider's ledger".into());
    }
    if settles && a.in_doubt > 0 {
        broken.push(format!("{} invoices still in doubt", a.in_doubt));
    }
    if r.timed_out {
        broken.push("timed out".into());
    }
    for fault in &r.faults_not_injected {
        broken.push(format!("fault not exercised: {fault}"));
    }
    for (i, f) in r.failovers.iter().enumerate() {
        if f.first_progress_secs.is_none() || f.all_servers_secs.is_none() {
            broken.push(format!(
                "failover {}: {} of {} servers reported on the new primary{}",
                i + 1,
                f.servers_reporting,
                f.servers,
                if f.first_progress_secs.is_none() {
                    ", no invoice settled after it (if none was left: the run was too short to \
                     show a recovery; give more --invoices or fewer --failovers)"
                } else {
                    ""
                }
            ));
        }
    }
    let verdict = if broken.is_empty() {
        "all invariants hold".to_owned()
    } else {
        format!("BROKEN: {}", broken.join("; "))
    };
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
        );
    } else {
        println!("invoices                          {}", a.invoices);
        println!("charges                           {}", a.charges);
        println!("duplicate charges                 {}", a.duplicate_charges);
        println!("invoices lost                     {}", a.open);
        println!(
            "in doubt before reconciliation    {}",
            r.in_doubt_before_reconciliation
        );
        println!("in doubt after reconciliation     {}", a.in_doubt);
        println!(
            "fenced writes rejected            {}",
            r.fenced_writes_rejected
        );
        println!(
            "attempts stopped at their lease   {}",
            r.attempts_stopped_at_lease_deadline
        );
        println!(
            "servers killed / zombies          {} / {}",
            r.kills, r.zombies
        );
        println!(
            "connections terminated            {}",
            r.backends_terminated
        );
        println!("servers crashed and restarted     {}", r.crashes_restarted);
        if r.reruns_after_failover > 0 {
            println!(
                "daily task run again (failover)   {}",
                r.reruns_after_failover
            );
        }
        println!("PostgreSQL immediate restarts     {}", r.database_restarts);
        for (i, f) in r.failovers.iter().enumerate() {
            let secs = |v: Option<f64>| v.map_or("never".to_owned(), |s| format!("{s:.1}s"));
            println!(
                "failover {} ({:?}, at {} settled)   promoted {:.1}s, next invoice {}, all {} servers on the new primary {}, settled rolled back {}",
                i + 1,
                f.replication,
                f.at_settled,
                f.promote_secs,
                secs(f.first_progress_secs),
                f.servers,
                secs(f.all_servers_secs),
                f.settled_rolled_back
            );
        }
        let f = &r.provider_faults;
        println!(
            "provider: answers dropped / spikes {} / {}",
            f.dropped_after_commit, f.latency_spikes
        );
        println!("time                              {:.1}s", r.wall_secs);
        println!("verdict                           {verdict}");
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!("invariants broken: {}", broken.join("; ")))
    }
}

/// Sends a signal to a server process with kill(1).
fn signal(child: Option<&Child>, name: &str) {
    if let Some(pid) = child.and_then(Child::id) {
        let _ = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status();
    }
}

fn print_table(results: &[RunResult]) {
    println!();
    println!(
        "{:<9} {:>9} {:>7} {:>18} {:>12} {:>9} {:>8} {:>6} {:>10}",
        "strategy",
        "invoices",
        "sent",
        "duplicate charges",
        "errors seen",
        "in doubt",
        "pending",
        "kills",
        "wall time"
    );
    for r in results {
        let sent = r.audit.by_status.get("sent").copied().unwrap_or(0);
        println!(
            "{:<9} {:>9} {:>7} {:>18} {:>12} {:>9} {:>8} {:>6} {:>9.1}s{}",
            strategy_name(r.strategy),
            r.audit.invoices,
            sent,
            r.audit.duplicate_charges,
            r.errors_seen,
            r.audit.in_doubt,
            r.audit.open,
            r.kills,
            r.wall_secs,
            if r.timed_out { " (timed out)" } else { "" }
        );
    }
    println!();
    for r in results {
        let verdict = if r.audit.clean() && r.audit.open == 0 && r.audit.in_doubt > 0 {
            format!(
                "no invoice charged twice, none lost; {} in doubt, waiting for a person (`oncely jobs list --state in_doubt`)",
                r.audit.in_doubt
            )
        } else if r.audit.clean() && r.audit.open == 0 {
            "every invoice charged exactly once".to_owned()
        } else if r.audit.duplicate_charges > 0 {
            format!(
                "{} customers were billed more than once ({} extra charges)",
                r.audit.invoices_charged_twice_or_more, r.audit.duplicate_charges
            )
        } else {
            format!(
                "{} invoices left unsent or inconsistent",
                r.audit.open + r.audit.charged_not_marked_sent + r.audit.sent_without_charge
            )
        };
        println!("{:<9} {verdict}", strategy_name(r.strategy));
    }
}
