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
use crate::billing::BillingClient;
use crate::cli::{Format, OnOff, Strategy};
use crate::db;
use crate::invoice::NewInvoice;

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
    /// Time between kills with --chaos.
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
        let result = run_strategy(&exe, &sim, &url, &work, *strategy, &args).await;
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

/// A fresh database for one run: a new SQLite file, or a new PostgreSQL database.
async fn fresh_database(base: &str, work: &Path, n: usize) -> Result<String, String> {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        use sqlx::Connection;
        let name = format!("invoicer_demo_{}_{n}", std::process::id());
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
                if args.idempotency == OnOff::On {
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
            .env("INVOICER_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
    let mut servers: Vec<Option<Child>> = (0..args.servers)
        .map(|i| spawn(i).map(Some))
        .collect::<Result<_, _>>()?;
    let (mut errors_seen, mut kills, mut timed_out) = (0u64, 0u32, false);
    let (mut zombies, mut fenced) = (0u32, 0u64);
    let mut paused: Option<(usize, Instant)> = None;
    let mut zombie_slot: Option<usize> = None;
    let mut last_kill = Instant::now();
    let mut chaos_rng = fastrand::Rng::with_seed(args.seed ^ 0x9e37_79b9);
    loop {
        let settled: i64 = db
            .status_counts()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|(s, _)| s == "sent" || s == "failed" || s == "in_doubt")
            .map(|(_, n)| n)
            .sum();
        bar.set_position(settled.max(0) as u64);
        for slot in servers.iter_mut() {
            if let Some(child) = slot {
                if let Ok(Some(_)) = child.try_wait() {
                    let (errors, rejected) = read_report(child).await;
                    errors_seen += errors;
                    fenced += rejected;
                    *slot = None;
                }
            }
        }
        if servers.iter().all(Option::is_none) {
            break;
        }
        if started.elapsed() > Duration::from_secs(args.timeout_secs) {
            timed_out = true;
            break;
        }
        let work_left = settled < i64::from(args.invoices);
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
        if args.chaos
            && work_left
            && last_kill.elapsed() >= Duration::from_millis(args.chaos_interval_ms)
        {
            // The zombie is spared: it must wake up, be fenced out, and report it.
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
            last_kill = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    for child in servers.iter_mut().flatten() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let result = audit(&db, &store, &billing).await;
    let _ = provider.start_kill();
    let _ = provider.wait().await;
    Ok(RunResult {
        strategy,
        audit: result?,
        errors_seen,
        kills,
        zombies,
        fenced_writes_rejected: fenced,
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

/// The `errors` and `fenced` counts a finished server printed (0 if none).
async fn read_report(child: &mut Child) -> (u64, u64) {
    let Some(mut stdout) = child.stdout.take() else {
        return (0, 0);
    };
    let mut text = String::new();
    let _ = stdout.read_to_string(&mut text).await;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .fold((0, 0), |(e, f), v| {
            (
                e + v["errors"].as_u64().unwrap_or(0),
                f + v["fenced"].as_u64().unwrap_or(0),
            )
        })
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
