//! A model-based test that hunts for holes in the promise: random sequences
//! of inserts (every path), claims, heartbeats, outcomes, operator actions
//! (cancel, retry, resolve), time passing (leases ending), rescues and worker
//! crashes run against each driver and against a small pure model of the
//! state machine (written from `docs/state-machine.md`, not from the SQL).
//!
//! After every step it checks: every job's row matches the model (state,
//! attempt, limits, effect flags, cancel request); at most one attempt of a
//! job can still act; a superseded attempt's fenced writes are refused; an
//! at-most-once job is never claimed for work again without a decision; no
//! job is lost. A failing case shrinks to a short, readable list of steps.
//!
//! `ONCELY_MODEL_CASES` sets the number of cases per backend (default 100);
//! `ONCELY_MODEL_STEPS` the longest sequence (default 40).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use oncely::store::{ClaimParams, Fence, ReconcileClaim, Resolution, RetryParams};
use oncely::{Error, Job, JobState, NewJob, Store};
use oncely_testkit::{Backend, TestDb};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

/// One step. Indices pick among the jobs or held attempts that exist at that
/// moment (modulo their number), so every sequence is valid and shrinks well.
#[derive(Debug, Clone)]
enum Op {
    /// Insert a job through `path` (0: insert, 1: insert_many, 2: in a transaction).
    Insert {
        at_most_once: bool,
        reconcilable: bool,
        path: u8,
    },
    /// A worker claims up to `limit` jobs for work.
    Claim { limit: u8 },
    /// A worker claims in-doubt reconcilable jobs to reconcile them.
    ClaimToReconcile { limit: u8 },
    /// A held attempt heartbeats.
    Heartbeat(u8),
    /// A held attempt completes its job.
    Complete(u8),
    /// A held attempt fails, retrying is safe (the handler said so).
    Fail(u8),
    /// A held (reconciling) attempt found the effect did not happen.
    NotDone(u8),
    /// A held attempt snoozes.
    Snooze(u8),
    /// A held attempt cannot tell whether its effect happened.
    Doubt(u8),
    /// A held attempt hands its lease back (shutdown).
    Release(u8),
    /// The operator cancels a job.
    Cancel(u8),
    /// The operator retries a job now.
    RetryNow(u8),
    /// The operator decides an in-doubt job (0 completed, 1 retry, 2 discarded).
    Resolve(u8, u8),
    /// Time passes: every running lease of the case's queue ends.
    LeasesEnd,
    /// The leader's rescuer runs.
    Rescue,
    /// A worker vanishes (kill -9) or pauses forever: it forgets its attempt.
    Crash(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>(), 0u8..3).prop_map(|(a, r, p)| Op::Insert {
            at_most_once: a,
            reconcilable: r,
            path: p,
        }),
        3 => (1u8..4).prop_map(|limit| Op::Claim { limit }),
        1 => (1u8..3).prop_map(|limit| Op::ClaimToReconcile { limit }),
        1 => any::<u8>().prop_map(Op::Heartbeat),
        2 => any::<u8>().prop_map(Op::Complete),
        2 => any::<u8>().prop_map(Op::Fail),
        1 => any::<u8>().prop_map(Op::NotDone),
        1 => any::<u8>().prop_map(Op::Snooze),
        1 => any::<u8>().prop_map(Op::Doubt),
        1 => any::<u8>().prop_map(Op::Release),
        1 => any::<u8>().prop_map(Op::Cancel),
        1 => any::<u8>().prop_map(Op::RetryNow),
        1 => (any::<u8>(), 0u8..3).prop_map(|(j, r)| Op::Resolve(j, r)),
        2 => Just(Op::LeasesEnd),
        2 => Just(Op::Rescue),
        1 => any::<u8>().prop_map(Op::Crash),
    ]
}

/// What the model knows of one job.
#[derive(Debug, Clone)]
struct ModelJob {
    id: i64,
    state: JobState,
    attempt: i32,
    max_attempts: i32,
    at_most_once: bool,
    reconcilable: bool,
    cancel_requested: bool,
    reconciling: bool,
    reruns: i32,
    /// Token of the latest claim.
    fence: i64,
    /// The running lease has ended (time passed, no heartbeat since).
    expired: bool,
    /// An at-most-once attempt started and nothing decided since whether
    /// the job may run again.
    awaiting_decision: bool,
}

/// An attempt some worker holds (it may have been superseded).
#[derive(Debug, Clone, Copy)]
struct Held {
    job: usize,
    fence: i64,
}

struct Case<'a> {
    db: &'a TestDb,
    store: &'a Store,
    queue: String,
    jobs: Vec<ModelJob>,
    held: Vec<Held>,
}

const MAX_ATTEMPTS: i32 = 2;
const MAX_JOBS: usize = 5;

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

impl Case<'_> {
    fn claim_params(&self, limit: u8) -> ClaimParams {
        ClaimParams {
            queue: self.queue.clone(),
            kinds: vec!["k".into()],
            limit: u32::from(limit),
            lease: Duration::from_secs(600),
            worker_id: "model".into(),
        }
    }

    fn current(&self, h: Held) -> bool {
        let j = &self.jobs[h.job];
        j.state == JobState::Running && j.fence == h.fence
    }

    fn pick_held(&self, i: u8) -> Option<Held> {
        (!self.held.is_empty()).then(|| self.held[usize::from(i) % self.held.len()])
    }

    fn pick_job(&self, i: u8) -> Option<usize> {
        (!self.jobs.is_empty()).then(|| usize::from(i) % self.jobs.len())
    }

    async fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Insert {
                at_most_once,
                reconcilable,
                path,
            } => {
                if self.jobs.len() < MAX_JOBS {
                    self.insert(at_most_once, reconcilable, path).await?;
                }
            }
            Op::Claim { limit } => self.claim(limit, false).await?,
            Op::ClaimToReconcile { limit } => self.claim(limit, true).await?,
            Op::Heartbeat(i) => {
                if let Some(h) = self.pick_held(i) {
                    let got = self
                        .store
                        .job_heartbeat(fence_of(self, h), Duration::from_secs(600))
                        .await;
                    if self.current(h) {
                        let beat =
                            got.map_err(|e| fail(format!("heartbeat of a live attempt: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        prop_assert_eq!(beat.cancel_requested, j.cancel_requested);
                        j.expired = false;
                    } else {
                        expect_lease_lost("heartbeat", got.map(|_| ()))?;
                    }
                }
            }
            Op::Complete(i) => {
                if let Some(h) = self.pick_held(i) {
                    let got = self.store.job_complete(fence_of(self, h)).await;
                    let j = &self.jobs[h.job];
                    let again = j.state == JobState::Completed && j.fence == h.fence;
                    if self.current(h) {
                        got.map_err(|e| fail(format!("complete: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        j.state = JobState::Completed;
                        j.awaiting_decision = false;
                    } else if again {
                        got.map_err(|e| fail(format!("completing twice by one attempt: {e}")))?;
                    } else {
                        expect_lease_lost("complete", got)?;
                    }
                }
            }
            Op::Fail(i) | Op::NotDone(i) => {
                if let Some(h) = self.pick_held(i) {
                    let rerun = matches!(op, Op::NotDone(_));
                    let params = RetryParams {
                        fence: fence_of(self, h),
                        error: "model".into(),
                        delay: Duration::ZERO,
                        rerun,
                    };
                    let got = self.store.job_retry(&params).await;
                    if self.current(h) {
                        let state = got.map_err(|e| fail(format!("retry: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        if j.cancel_requested {
                            j.state = JobState::Cancelled;
                        } else if j.attempt >= j.max_attempts {
                            if rerun && 2 * j.reruns < j.max_attempts {
                                j.state = JobState::Retryable;
                                j.max_attempts = j.attempt + 1;
                                j.reruns += 1;
                            } else {
                                j.state = JobState::Discarded;
                            }
                        } else {
                            j.state = JobState::Retryable;
                        }
                        j.awaiting_decision = false;
                        prop_assert_eq!(state, j.state);
                    } else {
                        expect_lease_lost("retry", got.map(|_| ()))?;
                    }
                }
            }
            Op::Snooze(i) => {
                if let Some(h) = self.pick_held(i) {
                    let got = self
                        .store
                        .job_snooze(fence_of(self, h), Duration::ZERO)
                        .await;
                    if self.current(h) {
                        got.map_err(|e| fail(format!("snooze: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        if j.cancel_requested {
                            j.state = JobState::Cancelled;
                        } else {
                            j.state = JobState::Scheduled;
                            j.attempt -= 1;
                        }
                        j.awaiting_decision = false;
                    } else {
                        expect_lease_lost("snooze", got)?;
                    }
                }
            }
            Op::Doubt(i) => {
                if let Some(h) = self.pick_held(i) {
                    let got = self
                        .store
                        .job_doubt(fence_of(self, h), "model", Duration::ZERO)
                        .await;
                    if self.current(h) {
                        got.map_err(|e| fail(format!("doubt: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        j.state = if j.cancel_requested {
                            JobState::Cancelled
                        } else {
                            JobState::InDoubt
                        };
                        j.reconciling = false;
                    } else {
                        expect_lease_lost("doubt", got)?;
                    }
                }
            }
            Op::Release(i) => {
                if let Some(h) = self.pick_held(i) {
                    let got = self.store.job_release(fence_of(self, h), "model").await;
                    if self.current(h) {
                        let state = got.map_err(|e| fail(format!("release: {e}")))?;
                        let j = &mut self.jobs[h.job];
                        if j.cancel_requested {
                            j.state = JobState::Cancelled;
                        } else if j.at_most_once || j.reconciling {
                            j.state = JobState::InDoubt;
                        } else {
                            j.state = JobState::Available;
                            j.attempt -= 1;
                        }
                        prop_assert_eq!(state, j.state);
                    } else {
                        expect_lease_lost("release", got.map(|_| ()))?;
                    }
                }
            }
            Op::Cancel(i) => {
                if let Some(k) = self.pick_job(i) {
                    let got = self
                        .store
                        .job_cancel(self.jobs[k].id, &oncely_testkit::tester())
                        .await;
                    let j = &mut self.jobs[k];
                    if j.state.is_final() {
                        expect_refused("cancel", got)?;
                    } else {
                        got.map_err(|e| fail(format!("cancel: {e}")))?;
                        if j.state == JobState::Running {
                            j.cancel_requested = true;
                        } else {
                            j.state = JobState::Cancelled;
                            j.awaiting_decision = false;
                        }
                    }
                }
            }
            Op::RetryNow(i) => {
                if let Some(k) = self.pick_job(i) {
                    let got = self
                        .store
                        .job_retry_now(self.jobs[k].id, &oncely_testkit::tester())
                        .await;
                    let j = &mut self.jobs[k];
                    if j.state == JobState::Running {
                        expect_refused("retry of a running job", got)?;
                    } else {
                        got.map_err(|e| fail(format!("retry now: {e}")))?;
                        j.state = JobState::Available;
                        j.max_attempts = j.max_attempts.max(j.attempt + 1);
                        j.cancel_requested = false;
                        j.awaiting_decision = false;
                    }
                }
            }
            Op::Resolve(i, r) => {
                if let Some(k) = self.pick_job(i) {
                    let resolution = [
                        Resolution::Completed,
                        Resolution::Retry,
                        Resolution::Discarded,
                    ][usize::from(r) % 3];
                    let got = self
                        .store
                        .job_resolve(
                            self.jobs[k].id,
                            resolution,
                            &oncely::store::Decision::new("model", "model").expect("decision"),
                        )
                        .await;
                    let j = &mut self.jobs[k];
                    if j.state != JobState::InDoubt {
                        expect_refused("resolve", got)?;
                    } else {
                        got.map_err(|e| fail(format!("resolve: {e}")))?;
                        j.state = resolution.state();
                        if resolution == Resolution::Retry {
                            j.max_attempts = j.max_attempts.max(j.attempt + 1);
                        }
                        j.reconciling = false;
                        j.awaiting_decision = false;
                    }
                }
            }
            Op::LeasesEnd => {
                let past = match self.db.backend {
                    Backend::Postgres => "now() - interval '1 hour'",
                    Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3600 seconds')",
                    Backend::MariaDb => "UTC_TIMESTAMP(6) - INTERVAL 1 HOUR",
                };
                self.db
                    .exec(&format!(
                        "UPDATE oncely_jobs SET lease_expires_at = {past} \
                         WHERE state = 'running' AND queue = '{}'",
                        self.queue
                    ))
                    .await;
                for j in &mut self.jobs {
                    if j.state == JobState::Running {
                        j.expired = true;
                    }
                }
            }
            Op::Rescue => {
                let report = self
                    .store
                    .job_rescue_expired(1000)
                    .await
                    .map_err(|e| fail(format!("rescue: {e}")))?;
                let mut rescued = 0;
                for j in &mut self.jobs {
                    if j.state != JobState::Running || !j.expired {
                        continue;
                    }
                    rescued += 1;
                    j.state = if j.cancel_requested {
                        JobState::Cancelled
                    } else if j.at_most_once || j.reconciling {
                        JobState::InDoubt
                    } else if j.attempt >= j.max_attempts {
                        JobState::Discarded
                    } else {
                        JobState::Retryable
                    };
                    j.expired = false;
                }
                // Other cases' queues share the database: count ours only.
                prop_assert!(report.total() >= rescued);
            }
            Op::Crash(i) => {
                if let Some(h) = self.pick_held(i) {
                    self.held.retain(|x| x.fence != h.fence);
                }
            }
        }
        Ok(())
    }

    async fn insert(
        &mut self,
        at_most_once: bool,
        reconcilable: bool,
        path: u8,
    ) -> Result<(), TestCaseError> {
        let mut job = NewJob::new(self.queue.clone(), "k", json!({ "n": self.jobs.len() }))
            .with_max_attempts(MAX_ATTEMPTS);
        if at_most_once {
            job = job.at_most_once();
        }
        if reconcilable {
            job = job.reconcilable();
        }
        let before: Vec<i64> = self.listed().await?.iter().map(|j| j.id).collect();
        match path {
            0 => {
                self.store
                    .job_insert(&job)
                    .await
                    .map_err(|e| fail(format!("insert: {e}")))?;
            }
            1 => {
                self.store
                    .job_insert_many(std::slice::from_ref(&job))
                    .await
                    .map_err(|e| fail(format!("insert many: {e}")))?;
            }
            _ => {
                self.db.insert_in_transaction(&job).await;
            }
        }
        let row = self
            .listed()
            .await?
            .into_iter()
            .find(|j| !before.contains(&j.id))
            .ok_or_else(|| fail("the inserted job is not there".into()))?;
        self.jobs.push(ModelJob {
            id: row.id,
            state: JobState::Available,
            attempt: 0,
            max_attempts: MAX_ATTEMPTS,
            at_most_once: at_most_once || reconcilable,
            reconcilable,
            cancel_requested: false,
            reconciling: false,
            reruns: 0,
            fence: 0,
            expired: false,
            awaiting_decision: false,
        });
        Ok(())
    }

    async fn claim(&mut self, limit: u8, reconcile: bool) -> Result<(), TestCaseError> {
        let params = self.claim_params(limit);
        let claimed = if reconcile {
            let every = ReconcileClaim {
                every_job_kinds: Vec::new(),
                settle: Duration::ZERO,
            };
            self.store.job_claim_in_doubt(&params, &every).await
        } else {
            self.store.job_claim(&params).await
        }
        .map_err(|e| fail(format!("claim: {e}")))?;
        let due: Vec<usize> = (0..self.jobs.len())
            .filter(|&k| {
                let j = &self.jobs[k];
                if reconcile {
                    j.state == JobState::InDoubt && j.reconcilable
                } else {
                    matches!(
                        j.state,
                        JobState::Available | JobState::Retryable | JobState::Scheduled
                    )
                }
            })
            .collect();
        prop_assert_eq!(
            claimed.len(),
            due.len().min(usize::from(limit)),
            "claimed {:?} of due {:?}",
            claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
            due.iter().map(|&k| self.jobs[k].id).collect::<Vec<_>>()
        );
        for row in claimed {
            let k = self
                .jobs
                .iter()
                .position(|j| j.id == row.id)
                .ok_or_else(|| fail(format!("claimed job {} the model never inserted", row.id)))?;
            prop_assert!(
                due.contains(&k),
                "claimed job {} was not due: {:?}",
                row.id,
                self.jobs[k]
            );
            let j = &mut self.jobs[k];
            prop_assert!(row.fence > j.fence, "tokens grow");
            if !reconcile {
                prop_assert!(
                    !j.awaiting_decision,
                    "at-most-once job {} claimed for work again without a decision",
                    j.id
                );
                j.attempt += 1;
                j.awaiting_decision = j.at_most_once;
            }
            j.state = JobState::Running;
            j.fence = row.fence;
            j.reconciling = reconcile;
            j.cancel_requested = false;
            j.expired = false;
            self.held.push(Held {
                job: k,
                fence: row.fence,
            });
        }
        Ok(())
    }

    async fn listed(&self) -> Result<Vec<Job>, TestCaseError> {
        let filter = oncely::store::JobFilter {
            queue: Some(self.queue.clone()),
            limit: Some(1000),
            ..Default::default()
        };
        self.store
            .job_list(&filter)
            .await
            .map_err(|e| fail(format!("list: {e}")))
    }

    /// Every row matches the model; at most one attempt per job can act.
    async fn check(&self) -> Result<(), TestCaseError> {
        let rows = self.listed().await?;
        prop_assert_eq!(rows.len(), self.jobs.len(), "no job lost, none made up");
        for j in &self.jobs {
            let row = rows
                .iter()
                .find(|r| r.id == j.id)
                .ok_or_else(|| fail(format!("job {} lost", j.id)))?;
            let seen = (
                row.state,
                row.attempt,
                row.max_attempts,
                row.at_most_once,
                row.reconcilable,
                row.cancel_requested_at.is_some(),
            );
            let expected = (
                j.state,
                j.attempt,
                j.max_attempts,
                j.at_most_once,
                j.reconcilable,
                j.cancel_requested,
            );
            prop_assert_eq!(seen, expected, "job {} (model {:?})", j.id, j);
            if j.state == JobState::Running {
                prop_assert_eq!(row.fence, j.fence);
                prop_assert_eq!(row.reconciling, j.reconciling);
            }
            let live = self
                .held
                .iter()
                .filter(|h| self.jobs[h.job].id == j.id)
                .filter(|h| row.state == JobState::Running && row.fence == h.fence)
                .count();
            prop_assert!(live <= 1, "job {}: {} attempts can act", j.id, live);
        }
        Ok(())
    }
}

fn fence_of(case: &Case<'_>, h: Held) -> Fence {
    Fence {
        job_id: case.jobs[h.job].id,
        fence: h.fence,
    }
}

fn expect_lease_lost(what: &str, got: oncely::Result<()>) -> Result<(), TestCaseError> {
    match got {
        Err(Error::LeaseLost(_)) => Ok(()),
        other => Err(fail(format!(
            "{what} by a superseded attempt must be refused as LeaseLost, got {other:?}"
        ))),
    }
}

fn expect_refused(what: &str, got: oncely::Result<Job>) -> Result<(), TestCaseError> {
    match got {
        Err(Error::InvalidTransition { .. }) => Ok(()),
        other => Err(fail(format!("{what} must be refused, got {other:?}"))),
    }
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

static NEXT_QUEUE: AtomicU32 = AtomicU32::new(0);

fn run_model(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = runtime.block_on(TestDb::new(backend));
    let store = runtime.block_on(db.store());
    let cases = env_number("ONCELY_MODEL_CASES", 100);
    let steps = env_number("ONCELY_MODEL_STEPS", 40) as usize;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let ran = AtomicU32::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..=steps), |ops| {
        ran.fetch_add(1, Ordering::Relaxed);
        runtime.block_on(async {
            let mut case = Case {
                db: &db,
                store: &store,
                queue: format!("model-{}", NEXT_QUEUE.fetch_add(1, Ordering::Relaxed)),
                jobs: Vec::new(),
                held: Vec::new(),
            };
            for (n, op) in ops.iter().enumerate() {
                case.step(op)
                    .await
                    .map_err(|e| fail(format!("step {n} ({op:?}): {e}")))?;
                case.check()
                    .await
                    .map_err(|e| fail(format!("after step {n} ({op:?}): {e}")))?;
            }
            Ok(())
        })
    });
    eprintln!(
        "model-based test on {backend:?}: {cases} cases of up to {steps} steps ({} runs with shrinking)",
        ran.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_postgres_driver_follows_the_model() {
    run_model(Backend::Postgres)
}

#[test]
fn the_sqlite_driver_follows_the_model() {
    run_model(Backend::Sqlite)
}

#[test]
fn the_mariadb_driver_follows_the_model() {
    run_model(Backend::MariaDb)
}
