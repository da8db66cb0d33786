//! The SQL API examples in other languages (`examples/python`, psycopg 3;
//! `examples/node`, pg) run as the user would run them: an order placed in a
//! transaction that commits gets its job run once by an oncely worker; one
//! placed in a transaction that rolls back leaves neither order nor job.
//! `scripts/test.sh` installs psycopg into `target/examples-venv` and pg into
//! `examples/node/node_modules`.

#[path = "runtime/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use oncely::{Client, JobState};
use oncely_testkit::{Backend, TestDb};
use sqlx::{Connection, PgConnection};

use support::{eventually, fast_config, state_of};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one example; returns the job id it printed.
fn place_order(program: &Path, script: &Path, url: &str, outcome: &str, reference: &str) -> i64 {
    let out = Command::new(program)
        .arg(script)
        .args([url, outcome, reference])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        program.display(),
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the example prints the job id")
}

async fn run_example(program: PathBuf, script: PathBuf) {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let committed = place_order(&program, &script, &db.url, "commit", "A-1");
    let rolled_back = place_order(&program, &script, &db.url, "rollback", "B-2");
    assert_ne!(committed, rolled_back);
    assert!(store.job_get(rolled_back).await.expect("get").is_none());

    // A worker ships the committed order once.
    let shipped: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let record = shipped.clone();
    let client = Client::builder(store.clone())
        .queue("shop", 2)
        .config(fast_config())
        .register_fn("order:ship", move |ctx| {
            let record = record.clone();
            async move {
                let order = ctx.job().args["order"].as_i64().unwrap_or(-1);
                *record.lock().expect("lock").entry(order).or_default() += 1;
                Ok(())
            }
        })
        .build()
        .expect("client");
    let running = client.start();
    eventually("the committed order's job completes", || async {
        state_of(&store, committed).await == JobState::Completed
    })
    .await;
    running.shutdown().await;

    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let orders: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, reference FROM shop_orders ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .expect("orders");
    assert_eq!(
        orders.len(),
        1,
        "the rolled-back order does not exist: {orders:?}"
    );
    assert_eq!(orders[0].1, "A-1");
    let shipped = shipped.lock().expect("lock").clone();
    assert_eq!(shipped, HashMap::from([(orders[0].0, 1)]), "shipped once");
    let jobs = store.job_list(&Default::default()).await.expect("list");
    assert_eq!(jobs.len(), 1, "only the committed job exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_enqueues_inside_its_transaction() {
    let python = std::env::var_os("ONCELY_EXAMPLES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/examples-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test.sh (it makes a venv with psycopg there), \
         or set ONCELY_EXAMPLES_PYTHON to a python with `pip install 'psycopg[binary]'`",
        python.display()
    );
    run_example(python, workspace().join("examples/python/enqueue.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_enqueues_inside_its_transaction() {
    let modules = workspace().join("examples/node/node_modules/pg");
    assert!(
        modules.exists(),
        "{} is missing: run ./scripts/test.sh, or `npm ci` in examples/node",
        modules.display()
    );
    run_example(
        PathBuf::from("node"),
        workspace().join("examples/node/enqueue.js"),
    )
    .await;
}
