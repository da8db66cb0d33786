//! `oncely dashboard` as the operator's console, as a real process: the JSON
//! API (every route with, without and with a wrong token; 404/409/400/413),
//! the pages' sign-in, CSRF and escaping, `--read-only`, and queue pauses
//! obeyed by a worker process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oncely::store::{ClaimParams, Fence, Store};
use oncely::{JobState, NewJob};
use oncely_testkit::{Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{eventually, oncely, WorkerProcess, BIN};

const TOKEN: &str = "console-test-token-0123456789";

/// A console process, SIGTERMed on drop.
struct ConsoleProcess {
    child: Child,
    base: String,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ConsoleProcess {
    fn start(url: &str, extra: &[&str]) -> ConsoleProcess {
        let mut child = Command::new(BIN)
            .args(["dashboard", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("ONCELY_DATABASE_URL", url)
            .env("ONCELY_LOG", "oncely=warn")
            .env_remove("ONCELY_DASHBOARD_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the console");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("banner").expect("banner");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        // Keep reading what it prints, so it never writes into a closed pipe.
        let reader = std::thread::spawn(move || lines.for_each(drop));
        ConsoleProcess {
            child,
            base,
            reader: Some(reader),
        }
    }
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// POSTs `body` with `token` (None: no Authorization header); returns status and JSON.
async fn post(base: &str, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, value)
}

async fn get_json(base: &str, path: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("GET");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, value)
}

async fn in_doubt_job(store: &Store, queue: &str) -> i64 {
    let inserted = store
        .job_insert(&NewJob::new(queue, "charge", json!({"invoice": 7})).at_most_once())
        .await
        .expect("insert")
        .job;
    let claimed = store
        .job_claim(&ClaimParams {
            queue: queue.into(),
            kinds: vec!["charge".into()],
            limit: 1,
            lease: Duration::from_secs(30),
            worker_id: "w-1".into(),
        })
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(claimed.id, inserted.id);
    store
        .job_doubt(Fence::of(&claimed), "provider timed out", Duration::ZERO)
        .await
        .expect("doubt");
    claimed.id
}

/// Every action route, as (path, a body it accepts).
fn action_routes(job: i64) -> Vec<(String, &'static str)> {
    vec![
        (format!("/api/jobs/{job}/retry"), "{}"),
        (format!("/api/jobs/{job}/cancel"), "{}"),
        (
            format!("/api/jobs/{job}/resolve"),
            r#"{"as": "completed", "reason": "charge found"}"#,
        ),
        ("/api/queues/billing/pause".into(), "{}"),
        ("/api/queues/billing/resume".into(), "{}"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_action_needs_the_token_and_says_what_happened() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let doubtful = in_doubt_job(&store, "billing").await;
    let console = ConsoleProcess::start(&db.url, &["--token", TOKEN]);
    let base = console.base.as_str();

    for (path, body) in action_routes(doubtful) {
        let (status, error) = post(base, &path, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {error}");
        assert_eq!(error["error"], "unauthorized", "{path}");
        let (status, error) = post(base, &path, Some("wrong-token-wrong-token"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {error}");
        assert_eq!(error["error"], "forbidden", "{path}");
    }
    assert_eq!(
        store
            .job_get(doubtful)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::InDoubt,
        "nothing refused changed the job"
    );
    assert!(store.queue_states().await.expect("queues").is_empty());

    // Right token: 404, 409, 400 say what happened.
    let (status, e) = post(base, "/api/jobs/999999/retry", Some(TOKEN), "{}").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, e) = post(base, "/api/jobs/abc/cancel", Some(TOKEN), "{}").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let path = format!("/api/jobs/{doubtful}/resolve");
    for bad in [
        "{not json",
        r#"{"as": "maybe", "reason": "x"}"#,
        r#"{"as": "completed"}"#,
        r#"{"reason": "x"}"#,
        r#"{"as": "completed", "reason": "x", "extra": 1}"#,
    ] {
        let (status, e) = post(base, &path, Some(TOKEN), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    let huge = format!(
        r#"{{"as": "completed", "reason": "{}"}}"#,
        "x".repeat(100_000)
    );
    let response = client()
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .body(huge)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        store
            .job_get(doubtful)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::InDoubt
    );

    // Resolve it, with who and why.
    let (status, done) = post(
        base,
        &path,
        Some(TOKEN),
        r#"{"as": "completed", "reason": "charge ch_9 found", "by": "alice"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["job"]["state"], "completed");
    // Now final: resolving or cancelling again is a conflict.
    let (status, e) = post(
        base,
        &path,
        Some(TOKEN),
        r#"{"as": "retry", "reason": "x"}"#,
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{e}"
    );
    let (status, _) = post(
        base,
        &format!("/api/jobs/{doubtful}/cancel"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Retry makes it available again; a running job cannot be retried.
    let (status, retried) = post(
        base,
        &format!("/api/jobs/{doubtful}/retry"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(
        (status, retried["job"]["state"].as_str()),
        (StatusCode::OK, Some("available"))
    );

    // Pause and resume, with a bad name refused.
    let (status, paused) = post(
        base,
        "/api/queues/billing/pause",
        Some(TOKEN),
        r#"{"reason": "outage", "by": "bob"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["paused_by"], "bob");
    assert!(store.queue_states().await.expect("queues")[0].paused());
    let (status, _) = post(base, "/api/queues/no%20spaces/pause", Some(TOKEN), "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, queues) = get_json(base, "/api/queues").await;
    assert_eq!(
        (status, queues[0]["name"].as_str()),
        (StatusCode::OK, Some("billing"))
    );
    let (status, _) = post(base, "/api/queues/billing/resume", Some(TOKEN), "{}").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!store.queue_states().await.expect("queues")[0].paused());

    // The job's detail: its attempt with token and worker, and every decision.
    let (status, detail) = get_json(base, &format!("/api/jobs/{doubtful}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["policy"], "at-most-once");
    let attempts = detail["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["worker"], "w-1");
    assert_eq!(attempts[0]["outcome"], "in_doubt");
    assert!(
        attempts[0]["fence"].as_i64().is_some_and(|f| f > 0),
        "{detail}"
    );
    let decisions: Vec<(String, String)> = detail["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| {
            (
                d["action"].as_str().unwrap_or("").into(),
                d["actor"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("retry".to_string(), "console-api".to_string()),
            ("resolve:completed".to_string(), "alice".to_string()),
        ]
    );
    // Reads are open (the console listens on loopback by default): no token,
    // a wrong one and the right one read the same.
    for path in [
        "/api/jobs".to_owned(),
        format!("/api/jobs/{doubtful}"),
        "/api/queues".to_owned(),
        "/api/snapshot".to_owned(),
    ] {
        for token in [None, Some("wrong-token-wrong-token"), Some(TOKEN)] {
            let mut request = client().get(format!("{base}{path}"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.expect("GET").status();
            assert_eq!(status, StatusCode::OK, "{path} with {token:?}");
        }
    }
    let (status, _) = get_json(base, "/api/jobs/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get_json(base, "/api/jobs/x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_list_filters_and_pages_by_keyset() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let jobs: Vec<NewJob> = (0..30)
        .map(|i| {
            let kind = if i % 3 == 0 { "mail" } else { "sms" };
            NewJob::new(
                "notify",
                kind,
                json!({"to": format!("user-{i}@example.com")}),
            )
        })
        .collect();
    store.job_insert_many(&jobs).await.expect("insert");
    let console = ConsoleProcess::start(&db.url, &["--token", TOKEN]);
    let base = console.base.as_str();
    let mut seen = Vec::new();
    let mut path = "/api/jobs?queue=notify&kind=mail&limit=4".to_owned();
    loop {
        let (status, page) = get_json(base, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for j in page["jobs"].as_array().expect("jobs") {
            assert_eq!(j["kind"], "mail");
            seen.push(j["id"].as_i64().expect("id"));
        }
        match page["next"].as_i64() {
            Some(next) => path = format!("/api/jobs?queue=notify&kind=mail&limit=4&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
    let (_, found) = get_json(base, "/api/jobs?q=USER-7@example").await;
    assert_eq!(found["jobs"].as_array().map(Vec::len), Some(1), "{found}");
    let (_, available) = get_json(base, "/api/jobs?state=available&limit=500").await;
    assert_eq!(available["jobs"].as_array().map(Vec::len), Some(30));
    assert!(available["next"].is_null());
    for bad in [
        "state=sleeping",
        "limit=0",
        "limit=501",
        "queue=no%20spaces",
        "after=x",
    ] {
        let (status, e) = get_json(base, &format!("/api/jobs?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    let (status, snapshot) = get_json(base, "/api/snapshot").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot["counts"]["notify"]["available"], 30, "{snapshot}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_console_serves_no_action() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let doubtful = in_doubt_job(&store, "billing").await;
    let console = ConsoleProcess::start(&db.url, &["--read-only", "--token", TOKEN]);
    let base = console.base.as_str();
    let mut posts = action_routes(doubtful);
    posts.push(("/login".into(), "name=a&token=x"));
    posts.push((format!("/jobs/{doubtful}/retry"), "csrf=x"));
    posts.push(("/queues/billing/pause".into(), "csrf=x"));
    for (path, body) in posts {
        let (status, e) = post(base, &path, Some(TOKEN), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {e}");
        assert_eq!(e["error"], "read_only", "{path}");
    }
    assert_eq!(
        store
            .job_get(doubtful)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::InDoubt
    );
    let page = client()
        .get(format!("{base}/jobs/{doubtful}"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    assert!(page.contains("provider timed out"), "{page}");
    assert!(!page.contains("<form method=\"post\""), "no forms: {page}");
}

/// Signs in through the login form; returns the session cookie.
async fn sign_in(base: &str, name: &str, token: &str) -> Result<String, StatusCode> {
    let response = client()
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={name}&token={token}"))
        .send()
        .await
        .expect("POST /login");
    if response.status() != StatusCode::SEE_OTHER {
        return Err(response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    Ok(cookie.split(';').next().expect("pair").to_owned())
}

fn csrf_of(page: &str) -> String {
    let at =
        page.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().expect("value").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_act_only_for_a_signed_in_session_with_its_csrf_value() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let hostile = store
        .job_insert(&NewJob::new(
            "mail",
            "welcome",
            json!({"name": "<script>alert(1)</script>"}),
        ))
        .await
        .expect("insert")
        .job;
    store
        .job_cancel(hostile.id, &oncely_testkit::tester())
        .await
        .expect("cancel");
    let console = ConsoleProcess::start(&db.url, &["--token", TOKEN]);
    let base = console.base.as_str();

    // Args are text, never markup.
    let page = client()
        .get(format!("{base}/jobs/{}", hostile.id))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        !page.contains("name=\"csrf\""),
        "no forms before signing in"
    );

    assert_eq!(
        sign_in(base, "eve", "not-the-token").await,
        Err(StatusCode::FORBIDDEN)
    );
    let cookie = sign_in(base, "carol", TOKEN).await.expect("signed in");
    let page = client()
        .get(format!("{base}/jobs/{}", hostile.id))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    assert!(page.contains("signed in as carol"), "{page}");
    let csrf = csrf_of(&page);
    let retry = format!("{base}/jobs/{}/retry", hostile.id);
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&back=/jobs/{}&reason=customer+asked",
            hostile.id
        )
    };
    // A forged post: the session's cookie without its CSRF value, or with another.
    for (cookie, body) in [
        (Some(cookie.as_str()), "back=/&reason=x".to_owned()),
        (Some(cookie.as_str()), form("forged")),
        (None, form(&csrf)),
    ] {
        let mut request = client()
            .post(&retry)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        let status = request.send().await.expect("POST").status();
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
            "{body}: {status}"
        );
        assert_eq!(
            store
                .job_get(hostile.id)
                .await
                .expect("get")
                .expect("job")
                .state,
            JobState::Cancelled,
            "a forged form changed nothing"
        );
    }
    let response = client()
        .post(&retry)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .body(form(&csrf))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        location.starts_with(&format!("/jobs/{}?msg=", hostile.id)),
        "{location}"
    );
    assert_eq!(
        store
            .job_get(hostile.id)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::Available
    );
    let log = store
        .operator_actions(&oncely::store::ActionFilter {
            job_id: Some(hostile.id),
            ..Default::default()
        })
        .await
        .expect("log");
    assert_eq!(
        (log[0].actor.as_str(), log[0].reason.as_str()),
        ("carol", "customer asked")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_queue_waits_across_the_fleet_until_resumed() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let out = oncely(
        &db.url,
        &[
            "queues",
            "pause",
            "q",
            "--reason",
            "provider outage",
            "--by",
            "ops",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _worker = WorkerProcess::start(
        &db.url,
        &["--queues", "q=2", "--poll-interval-ms", "100"],
        &[],
    );
    let job = store
        .job_insert(
            &oncely::kinds::command::CommandArgs::new_job("q", vec!["true".into()]).expect("job"),
        )
        .await
        .expect("insert")
        .job;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        store
            .job_get(job.id)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::Available,
        "nothing claims from a paused queue"
    );
    let listed = oncely(&db.url, &["queues"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("yes, by ops"), "{text}");
    let out = oncely(&db.url, &["queues", "resume", "q", "--reason", "back"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("the job runs once the queue is resumed", 30, || {
        let store = store.clone();
        async move {
            store
                .job_get(job.id)
                .await
                .ok()
                .flatten()
                .is_some_and(|j| j.state == JobState::Completed)
        }
    })
    .await;
}

/// Parses an exposition with a Prometheus text-format parser.
fn scrape(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

fn sample(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.iter().map(|b| b.count).fold(0.0, f64::max)
            }
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_match_the_database() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    for i in 0..7 {
        let queue = if i % 2 == 0 { "mail" } else { "sms" };
        store
            .job_insert(&NewJob::new(queue, "send", json!({ "i": i })))
            .await
            .expect("insert");
    }
    in_doubt_job(&store, "billing").await;
    in_doubt_job(&store, "billing").await;
    store
        .queue_pause("sms", &oncely_testkit::tester())
        .await
        .expect("pause");
    let console = ConsoleProcess::start(&db.url, &["--token", TOKEN]);
    let response = client()
        .get(format!("{}/metrics", console.base))
        .send()
        .await
        .expect("GET /metrics");
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/openmetrics-text")));
    let parsed = scrape(&response.text().await.expect("body"));
    let counts = store.queue_counts().await.expect("counts");
    assert!(!counts.is_empty());
    for c in &counts {
        let got = sample(
            &parsed,
            "oncely_jobs",
            &[("queue", &c.queue), ("state", c.state.as_str())],
        );
        assert_eq!(got, Some(c.count as f64), "{} {}", c.queue, c.state);
    }
    assert_eq!(sample(&parsed, "oncely_jobs_in_doubt", &[]), Some(2.0));
    assert_eq!(
        sample(&parsed, "oncely_queue_paused", &[("queue", "sms")]),
        Some(1.0)
    );

    // A worker's counters and histograms.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _worker = WorkerProcess::start(
        &db.url,
        &[
            "--queues",
            "q=2",
            "--poll-interval-ms",
            "100",
            "--metrics-listen",
            &listen,
            "--worker-id",
            "metrics-worker",
        ],
        &[],
    );
    for _ in 0..5 {
        store
            .job_insert(
                &oncely::kinds::command::CommandArgs::new_job("q", vec!["true".into()])
                    .expect("job"),
            )
            .await
            .expect("insert");
    }
    eventually("five jobs complete", 30, || {
        let store = store.clone();
        async move {
            store
                .queue_counts()
                .await
                .map(|c| {
                    c.iter()
                        .any(|c| c.queue == "q" && c.state == JobState::Completed && c.count == 5)
                })
                .unwrap_or(false)
        }
    })
    .await;
    let url = format!("http://{listen}/metrics");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let s = loop {
        if let Ok(response) = client().get(&url).send().await {
            let s = scrape(&response.text().await.unwrap_or_default());
            let labels = [("worker", "metrics-worker"), ("outcome", "completed")];
            let done = sample(&s, "oncely_worker_attempts_total", &labels)
                .or_else(|| sample(&s, "oncely_worker_attempts", &labels));
            if done == Some(5.0) {
                break s;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker's metrics did not count five completions in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let runs: f64 = s
        .samples
        .iter()
        .filter(|x| {
            x.metric.starts_with("oncely_worker_run_duration_seconds")
                && x.labels.get("outcome") == Some("completed")
        })
        .filter_map(|x| match &x.value {
            prometheus_parse::Value::Histogram(b) => b.iter().map(|b| b.count).reduce(f64::max),
            _ => None,
        })
        .sum();
    assert_eq!(
        runs,
        5.0,
        "five runs observed: {:?}",
        s.samples.iter().map(|x| &x.metric).collect::<Vec<_>>()
    );
    let waited: f64 = s
        .samples
        .iter()
        .filter(|x| {
            x.metric.starts_with("oncely_worker_queue_latency_seconds")
                && x.labels.get("queue") == Some("q")
        })
        .filter_map(|x| match &x.value {
            prometheus_parse::Value::Histogram(b) => b.iter().map(|b| b.count).reduce(f64::max),
            _ => None,
        })
        .sum();
    assert_eq!(waited, 5.0, "five pickups observed");
    assert!(
        s.samples
            .iter()
            .any(|x| x.metric.starts_with("oncely_worker_claim_duration_seconds")),
        "claims observed"
    );
}
