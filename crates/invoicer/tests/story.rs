//! The story end to end, with real processes and a real billing-sim over
//! loopback, on PostgreSQL and SQLite: the naive strategy double-bills,
//! oncely bills each invoice exactly once; racing sweeps make one job per
//! invoice; provider refusals fail an invoice without a retry storm.

use std::process::{Command, Output, Stdio};

use oncely_testkit::{Backend, TestDb};
use serde_json::Value;

const INVOICER: &str = env!("CARGO_BIN_EXE_invoicer");

fn invoicer(url: &str, billing: &str, args: &[&str]) -> Output {
    let sim = std::path::Path::new(INVOICER).with_file_name("billing-sim");
    assert!(
        sim.exists(),
        "billing-sim must be built next to invoicer: cargo build -p billing-sim"
    );
    Command::new(INVOICER)
        .args(args)
        .env("ONCELY_DATABASE_URL", url)
        .env("INVOICER_BILLING_URL", billing)
        .stdin(Stdio::null())
        .output()
        .expect("running invoicer")
}

/// Runs `invoicer demo ... --format json` and returns its one result.
fn demo(db: &TestDb, args: &[&str]) -> Value {
    let base = match db.backend {
        Backend::Postgres | Backend::MariaDb => db.url.clone(),
        Backend::Sqlite => "sqlite://unused.db".into(),
    };
    let mut all = vec!["demo", "--format", "json"];
    all.extend_from_slice(args);
    let out = invoicer(&base, "http://127.0.0.1:9", &all);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_slice(&out.stdout).expect("demo JSON");
    results[0].clone()
}

async fn naive_double_bills(backend: Backend) {
    let db = TestDb::postgres_or_sqlite(backend).await;
    let r = demo(
        &db,
        &["--strategy", "naive", "--servers", "2", "--invoices", "200"],
    );
    assert!(
        r["audit"]["duplicate_charges"].as_u64().expect("count") > 0,
        "the naive strategy must show the double billing: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_double_bills_on_postgres() {
    naive_double_bills(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_double_bills_on_sqlite() {
    naive_double_bills(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_double_bills_on_mariadb() {
    naive_double_bills(Backend::MariaDb).await
}

async fn oncely_bills_each_invoice_once(backend: Backend) {
    let db = TestDb::postgres_or_sqlite(backend).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "4",
            "--invoices",
            "2000",
        ],
    );
    let audit = &r["audit"];
    assert_eq!(audit["invoices"], 2000, "{r}");
    assert_eq!(
        audit["charges"], 2000,
        "exactly one charge per invoice: {r}"
    );
    assert_eq!(audit["duplicate_charges"], 0, "{r}");
    assert_eq!(audit["open"], 0, "none left pending: {r}");
    assert_eq!(audit["by_status"]["sent"], 2000, "{r}");
    assert_eq!(audit["sent_without_charge"], 0);
    assert_eq!(audit["charged_not_marked_sent"], 0);
    println!(
        "{backend:?}: 4 servers billed 2,000 invoices once each in {:.1}s",
        r["wall_secs"].as_f64().unwrap_or(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncely_bills_each_invoice_once_on_postgres() {
    oncely_bills_each_invoice_once(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncely_bills_each_invoice_once_on_sqlite() {
    oncely_bills_each_invoice_once(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncely_bills_each_invoice_once_on_mariadb() {
    oncely_bills_each_invoice_once(Backend::MariaDb).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncely_survives_kill_9_with_an_idempotent_provider() {
    survives_kill_9(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncely_survives_kill_9_with_an_idempotent_provider_on_mariadb() {
    survives_kill_9(Backend::MariaDb).await
}

async fn survives_kill_9(backend: Backend) {
    let db = TestDb::postgres_or_sqlite(backend).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "4",
            "--invoices",
            "300",
            "--chaos",
        ],
    );
    assert!(r["kills"].as_u64().expect("kills") > 0, "{r}");
    assert_eq!(r["audit"]["duplicate_charges"], 0, "{r}");
    assert_eq!(r["audit"]["open"], 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nowait_holds_without_crashes_on_postgres_and_is_refused_on_sqlite() {
    let db = TestDb::postgres_or_sqlite(Backend::Postgres).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "nowait",
            "--servers",
            "3",
            "--invoices",
            "150",
        ],
    );
    assert_eq!(r["audit"]["duplicate_charges"], 0, "{r}");
    assert_eq!(r["audit"]["by_status"]["sent"], 150, "{r}");
    println!("nowait: {} lock errors seen by 3 servers", r["errors_seen"]);
    let out = invoicer(
        "sqlite://x.db",
        "http://127.0.0.1:9",
        &["demo", "--strategy", "nowait"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs PostgreSQL"));
}

async fn racing_sweeps(backend: Backend) {
    let db = TestDb::postgres_or_sqlite(backend).await;
    let out = invoicer(&db.url, "http://127.0.0.1:9", &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = invoicer(
        &db.url,
        "http://127.0.0.1:9",
        &["create-invoices", "--count", "300", "--seed", "1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sweeps: Vec<_> = (0..5)
        .map(|_| {
            Command::new(INVOICER)
                .arg("sweep")
                .env("ONCELY_DATABASE_URL", &db.url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("sweep")
        })
        .collect();
    for s in sweeps {
        let out = s.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = db.store().await;
    let jobs = store
        .job_list(&oncely::store::JobFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .await
        .expect("list");
    let mut keys: Vec<_> = jobs.iter().filter_map(|j| j.unique_key.clone()).collect();
    assert_eq!(keys.len(), jobs.len());
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300, "one send job per invoice");
    assert_eq!(jobs.len(), 300, "and no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_sweeps_on_postgres() {
    racing_sweeps(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_sweeps_on_sqlite() {
    racing_sweeps(Backend::Sqlite).await
}

/// A billing-sim with the given flags (its ledger directory lives as long as it); killed on drop.
struct Sim(
    std::process::Child,
    String,
    #[allow(dead_code)] tempfile::TempDir,
);
impl Sim {
    fn start(flags: &[&str]) -> Sim {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = std::path::Path::new(INVOICER).with_file_name("billing-sim");
        let mut child = Command::new(sim)
            .args(flags)
            .arg("--ledger")
            .arg(dir.path().join("ledger.jsonl"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("billing-sim");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("banner");
        let url = line.trim().rsplit(' ').next().expect("url").to_owned();
        Sim(child, url, dir)
    }
}
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_fail_invoices_and_outages_retry() {
    let db = TestDb::postgres_or_sqlite(Backend::Sqlite).await;
    assert!(invoicer(&db.url, "", &["migrate"]).status.success());
    // Refused at creation: nothing written.
    for (amount, currency) in [("0", "EUR"), ("-5", "EUR"), ("100", "XYZ")] {
        let out = invoicer(
            &db.url,
            "",
            &[
                "create-invoice",
                "--customer",
                "c",
                "--amount-cents",
                amount,
                "--currency",
                currency,
            ],
        );
        assert!(!out.status.success(), "{amount} {currency} accepted");
    }
    // A provider that declines everything: each invoice fails once, with the reason.
    let declining = Sim::start(&["--decline-rate", "1"]);
    assert!(
        invoicer(&db.url, &declining.1, &["create-invoices", "--count", "20"])
            .status
            .success()
    );
    let out = invoicer(
        &db.url,
        &declining.1,
        &["bill-pending", "--days-ahead", "0"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit: Value = serde_json::from_slice(
        &invoicer(&db.url, &declining.1, &["audit", "--format", "json"]).stdout,
    )
    .expect("audit");
    assert_eq!(audit["by_status"]["failed"], 20, "{audit}");
    let store = db.store().await;
    let jobs = store
        .job_list(&oncely::store::JobFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(
        jobs.iter()
            .filter(|j| j.kind == "invoices:send")
            .all(|j| j.attempt == 1),
        "no retry storm"
    );
    drop(declining);
    // A provider down half the time: retries with backoff until every invoice is sent once.
    let flaky = Sim::start(&["--fail-rate", "0.5", "--seed", "3"]);
    let db2 = TestDb::postgres_or_sqlite(Backend::Sqlite).await;
    assert!(invoicer(&db2.url, &flaky.1, &["migrate"]).status.success());
    assert!(
        invoicer(&db2.url, &flaky.1, &["create-invoices", "--count", "30"])
            .status
            .success()
    );
    let out = invoicer(&db2.url, &flaky.1, &["bill-pending", "--days-ahead", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit: Value = serde_json::from_slice(
        &invoicer(&db2.url, &flaky.1, &["audit", "--format", "json"]).stdout,
    )
    .expect("audit");
    assert_eq!(audit["by_status"]["sent"], 30, "{audit}");
    assert_eq!(audit["charges"], 30, "{audit}");
}

/// Crash safety at CI scale, PostgreSQL: SIGKILL, a zombie (SIGSTOP past the
/// lease, then SIGCONT) and answers dropped after the charge, with an
/// idempotent provider: nothing charged twice, nothing lost, nothing in doubt,
/// and the zombie stopped its own attempts or had its stale writes rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_postgres_lose_nothing_and_charge_nothing_twice() {
    let db = TestDb::postgres_or_sqlite(Backend::Postgres).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "4",
            "--invoices",
            "600",
            "--latency-ms",
            "40",
            "--chaos",
            "--chaos-interval-ms",
            "700",
            "--zombie",
            "--drop-after-commit-rate",
            "0.05",
        ],
    );
    let a = &r["audit"];
    assert!(r["kills"].as_u64().expect("kills") > 0, "{r}");
    assert_eq!(r["zombies"], 1, "{r}");
    assert_eq!(a["duplicate_charges"], 0, "{r}");
    assert_eq!(a["open"], 0, "none lost: {r}");
    assert_eq!(a["in_doubt"], 0, "{r}");
    assert_eq!(a["sent_without_charge"], 0, "{r}");
    assert_eq!(a["charged_not_marked_sent"], 0, "{r}");
    // The zombie wakes past its lease: it stops its attempts itself (their
    // deadline passed while it was stopped) or, if a handler raced ahead,
    // its writes are fenced out. Either way it did something visible.
    assert!(
        r["fenced_writes_rejected"].as_u64().expect("fenced")
            + r["attempts_stopped_at_lease_deadline"]
                .as_u64()
                .expect("stopped")
            > 0,
        "the zombie's attempts were stopped or fenced out: {r}"
    );
    assert!(
        r["provider_faults"]["dropped_after_commit"]
            .as_u64()
            .expect("dropped")
            > 0,
        "answers really were dropped: {r}"
    );
}

/// A provider without idempotency keys, answers dropped after charging,
/// servers killed: reconciliation settles every uncertain invoice.
async fn reconcile_settles_everything(backend: Backend) {
    let db = TestDb::postgres_or_sqlite(backend).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "4",
            "--invoices",
            "400",
            "--idempotency",
            "off",
            "--drop-after-commit-rate",
            "0.1",
            "--chaos",
        ],
    );
    let a = &r["audit"];
    assert_eq!(a["duplicate_charges"], 0, "{r}");
    assert_eq!(a["open"], 0, "{r}");
    assert_eq!(a["in_doubt"], 0, "all settled by reconciliation: {r}");
    assert_eq!(a["by_status"]["sent"], 400, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_settles_everything_on_postgres() {
    reconcile_settles_everything(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_settles_everything_on_sqlite() {
    reconcile_settles_everything(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_settles_everything_on_mariadb() {
    reconcile_settles_everything(Backend::MariaDb).await
}

/// The same without reconciliation: every uncertain invoice is reported in
/// doubt; none is charged twice and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reconcile_uncertain_invoices_wait_in_doubt() {
    let db = TestDb::postgres_or_sqlite(Backend::Sqlite).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "2",
            "--invoices",
            "200",
            "--idempotency",
            "off",
            "--reconcile",
            "off",
            "--drop-after-commit-rate",
            "0.2",
        ],
    );
    let a = &r["audit"];
    assert_eq!(a["duplicate_charges"], 0, "{r}");
    assert_eq!(a["open"], 0, "{r}");
    let in_doubt = a["in_doubt"].as_u64().expect("in doubt");
    assert!(in_doubt > 0, "{r}");
    let sent = a["by_status"]["sent"].as_u64().expect("sent");
    assert_eq!(sent + in_doubt, 200, "every invoice sent or in doubt: {r}");
}

/// The verifier itself: `invoicer chaos` passes under kill -9, terminated
/// database connections and provider latency spikes beyond the lease, and fails (non-zero exit, the broken invariant named)
/// when invoices really are charged twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chaos_verifier_passes_when_it_should_and_fails_when_it_should() {
    let db = TestDb::postgres_or_sqlite(Backend::Postgres).await;
    let ok = invoicer(
        &db.url,
        "http://127.0.0.1:9",
        &[
            "chaos",
            "--invoices",
            "300",
            "--servers",
            "4",
            "--chaos",
            "--chaos-interval-ms",
            "500",
            "--terminate-every-ms",
            "700",
            "--spike-rate",
            "0.03",
            "--spike-ms",
            "3500",
            "--format",
            "json",
        ],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let r: Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert!(
        r["backends_terminated"].as_u64().expect("terminated") > 0,
        "{r}"
    );
    assert_eq!(r["audit"]["duplicate_charges"], 0, "{r}");
    assert!(
        r["provider_faults"]["latency_spikes"]
            .as_u64()
            .expect("spikes")
            > 0,
        "charges were delayed beyond the lease: {r}"
    );
    // The post's `FOR UPDATE NOWAIT` fix with answers dropped after charging:
    // a rolled-back charge bills again, and the verifier must say so.
    let broken = invoicer(
        &db.url,
        "http://127.0.0.1:9",
        &[
            "chaos",
            "--strategy",
            "nowait",
            "--invoices",
            "200",
            "--servers",
            "2",
            "--idempotency",
            "off",
            "--drop-after-commit-rate",
            "0.3",
        ],
    );
    assert!(
        !broken.status.success(),
        "the verifier missed duplicate charges"
    );
    assert!(String::from_utf8_lossy(&broken.stderr).contains("duplicate charges"));
    // A fault that was asked for but never happened fails the run: it does
    // not show what it claims to.
    let unexercised = invoicer(
        &db.url,
        "http://127.0.0.1:9",
        &[
            "chaos",
            "--invoices",
            "50",
            "--servers",
            "2",
            "--drop-after-commit-rate",
            "0.000000001",
        ],
    );
    assert!(!unexercised.status.success());
    assert!(
        String::from_utf8_lossy(&unexercised.stderr).contains("fault not exercised"),
        "{}",
        String::from_utf8_lossy(&unexercised.stderr)
    );
    let refused = invoicer("sqlite://x.db", "http://127.0.0.1:9", &["chaos"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("PostgreSQL"));
}

/// A fleet configured two ways: the sweep believes the provider honours
/// idempotency keys (its send jobs are stored idempotent), the servers know
/// it does not. Under kill -9 and dropped answers the servers still run
/// every send under their kind's policy: nothing is charged twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_configured_otherwise_cannot_weaken_the_servers_policy() {
    let db = TestDb::postgres_or_sqlite(Backend::Postgres).await;
    let r = demo(
        &db,
        &[
            "--strategy",
            "oncely",
            "--servers",
            "4",
            "--invoices",
            "600",
            "--idempotency",
            "off",
            "--sweep-idempotency",
            "on",
            "--chaos",
            "--chaos-interval-ms",
            "300",
            "--drop-after-commit-rate",
            "0.05",
        ],
    );
    let a = &r["audit"];
    assert!(r["kills"].as_u64().expect("kills") > 0, "{r}");
    assert!(
        r["provider_faults"]["dropped_after_commit"]
            .as_u64()
            .expect("dropped")
            > 0,
        "{r}"
    );
    assert_eq!(a["duplicate_charges"], 0, "{r}");
    assert_eq!(a["open"], 0, "{r}");
    assert_eq!(a["by_status"]["sent"], 600, "{r}");
}

fn audit(url: &str, billing: &str) -> Value {
    let out = invoicer(url, billing, &["audit", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("audit JSON")
}

/// Waits up to 60 s for `check`.
async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// One invoice, swept and sent by one server with `flags`; `decide` is the
/// operator's action on its first send job; then the next sweep. The
/// invoice must end sent with exactly one charge.
async fn operator_then_next_sweep(sim_flags: &[&str], flags: &[&str], decide: &str) {
    let db = TestDb::postgres_or_sqlite(Backend::Sqlite).await;
    let sim = Sim::start(sim_flags);
    let run = |args: &[&str]| {
        let mut all = flags.to_vec();
        all.extend_from_slice(args);
        let out = invoicer(&db.url, &sim.1, &all);
        assert!(
            out.status.success(),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["migrate"]);
    run(&[
        "create-invoice",
        "--customer",
        "c1",
        "--amount-cents",
        "1200",
    ]);
    run(&["sweep", "--days-ahead", "0"]);
    let server = Command::new(INVOICER)
        .args(flags)
        .args([
            "server",
            "--concurrency",
            "1",
            "--lease-secs",
            "3",
            "--days-ahead",
            "0",
        ])
        .env("ONCELY_DATABASE_URL", &db.url)
        .env("INVOICER_BILLING_URL", &sim.1)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server");
    let _server = Killed(server);
    let store = db.store().await;
    let first = store
        .job_list(&Default::default())
        .await
        .expect("list")
        .remove(0);
    let state = |id: i64| {
        let store = store.clone();
        move || {
            let store = store.clone();
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new()
                    .expect("runtime")
                    .block_on(store.job_get(id))
                    .expect("get")
                    .expect("row")
                    .state
            })
            .join()
            .expect("join")
        }
    };
    let first_state = state(first.id);
    match decide {
        // Cancel while the charge request is in flight at the provider.
        "cancel" => {
            wait_for("the send running", || {
                first_state() == oncely::JobState::Running
            })
            .await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            store
                .job_cancel(first.id, &oncely_testkit::tester())
                .await
                .expect("cancel");
            wait_for("the first send final", || first_state().is_final()).await;
        }
        // The uncertain charge waits for a person, who gives the job up.
        _ => {
            wait_for("the send in doubt", || {
                first_state() == oncely::JobState::InDoubt
            })
            .await;
            store
                .job_resolve(
                    first.id,
                    oncely::store::Resolution::Discarded,
                    &oncely::store::Decision::new("tester", "gave up").expect("decision"),
                )
                .await
                .expect("resolve");
        }
    }
    // The next day's sweep creates a new job if the invoice is still open.
    run(&["sweep", "--days-ahead", "0"]);
    wait_for("the invoice sent", || {
        audit(&db.url, &sim.1)["by_status"]["sent"] == 1
    })
    .await;
    let a = audit(&db.url, &sim.1);
    assert_eq!(a["charges"], 1, "{a}");
    assert_eq!(a["duplicate_charges"], 0, "{a}");
    let jobs = store.job_list(&Default::default()).await.expect("list");
    assert!(
        jobs.iter().all(|j| j.idempotency_key == "invoice-1"),
        "{jobs:?}"
    );
}

/// An operator cancels a send while its charge is in flight, with provider
/// idempotency on; the next sweep must not charge again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_send_in_flight_then_sweeping_again_charges_once() {
    operator_then_next_sweep(&["--latency-ms", "1500"], &[], "cancel").await
}

/// Without provider idempotency or reconciliation: a send whose answer was
/// lost waits in doubt; the operator discards it; the next sweep's job finds
/// the earlier charge at the provider instead of charging again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_discarded_after_an_uncertain_charge_is_not_charged_again() {
    operator_then_next_sweep(
        &["--drop-after-commit-rate", "1.0", "--idempotency", "off"],
        &["--provider-idempotency", "off", "--reconcile", "off"],
        "discard",
    )
    .await
}

/// A child process killed on drop.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `invoicer chaos --failover`: the story on a primary and a streaming
/// standby, the primary killed with -9 mid-run and the standby promoted.
/// Synchronous replication with an idempotent provider, and asynchronous
/// replication with a provider without idempotency keys (every send
/// at-most-once, settled by asking the provider): no invoice charged twice,
/// none lost, none left in doubt, every server on the new primary.
fn chaos_across_a_failover(mode: &str, failovers: &str, provider: &[&str]) {
    let mut args = vec![
        "chaos",
        "--failover",
        mode,
        "--failovers",
        failovers,
        "--invoices",
        "900",
        "--servers",
        "3",
        // Slow charges keep work left for each failover also on a busy machine.
        "--latency-ms",
        "60",
        "--format",
        "json",
    ];
    args.extend_from_slice(provider);
    let out = invoicer("postgres://unused", "http://127.0.0.1:9", &args);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["audit"]["duplicate_charges"], 0, "{r}");
    assert_eq!(r["audit"]["open"], 0, "{r}");
    assert_eq!(r["audit"]["in_doubt"], 0, "{r}");
    let done = r["failovers"].as_array().expect("failovers");
    assert_eq!(done.len().to_string(), failovers, "{r}");
    for f in done {
        let all = f["all_servers_secs"]
            .as_f64()
            .expect("every server on the new primary");
        assert!(all < 30.0, "servers followed within seconds: {f}");
        assert!(f["first_progress_secs"].as_f64().is_some(), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_across_a_synchronous_failover_charges_each_invoice_once() {
    chaos_across_a_failover("sync", "1", &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_across_lossy_failovers_without_provider_idempotency_charges_each_invoice_once() {
    chaos_across_a_failover("async", "2", &["--idempotency", "off"]);
}

/// The story through PgBouncer in transaction pooling mode (three server
/// connections for four servers' pools), with servers killed by -9 and
/// restarted: every invoice charged once, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_through_pgbouncer_in_transaction_mode_charges_each_invoice_once() {
    let port = oncely_testkit::Cluster::shared().port();
    let bouncer = tokio::task::spawn_blocking(move || {
        oncely_testkit::Bouncer::start(port, oncely_testkit::PoolMode::Transaction, 3)
    })
    .await
    .expect("join")
    .unwrap_or_else(|e| panic!("{e}"));
    let url = bouncer.url("postgres", false);
    let out = invoicer(
        &url,
        "http://127.0.0.1:9",
        &[
            "chaos",
            "--invoices",
            "300",
            "--servers",
            "4",
            "--chaos",
            "--chaos-interval-ms",
            "300",
            // Slow charges: the run lasts long enough for kills also on a fast machine.
            "--latency-ms",
            "40",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["audit"]["duplicate_charges"], 0, "{r}");
    assert_eq!(r["audit"]["open"], 0, "{r}");
    assert!(r["kills"].as_u64().expect("kills") > 0, "{r}");
}
