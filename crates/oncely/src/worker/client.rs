//! [`Client`]: inserts jobs and runs workers for a set of queues.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::completer::Completer;
use super::config::ClientConfig;
use super::executor::Executor;
use super::producer::Producer;
use super::stats::Stats;
use super::wakeups::{self, Wakeups};
use super::{FnWorker, JobContext, JobError, Worker};
use crate::error::{Result, ValidationError};
use crate::job::{validate_kind, validate_queue, NewJob};
use crate::maintenance::leader::Elector;
use crate::maintenance::periodic::PeriodicEnqueuer;
use crate::maintenance::pruner::Pruner;
use crate::maintenance::rescuer::{Rescuer, RescuerConfig};
use crate::maintenance::runner::Maintainer;
use crate::schedule::Schedule;
use crate::store::{InsertOutcome, Store};

/// Builds a [`Client`]: queues with their concurrency, and a worker per kind.
pub struct ClientBuilder {
    store: Store,
    queues: Vec<(String, u32)>,
    workers: HashMap<String, Arc<dyn Worker>>,
    schedules: Vec<Schedule>,
    config: ClientConfig,
    observer: Option<Arc<dyn super::Observer>>,
}

impl ClientBuilder {
    /// Registers a periodic job: stored when the client starts, fired once
    /// per period across every server sharing the database.
    pub fn periodic(mut self, schedule: Schedule) -> Self {
        self.schedules.push(schedule);
        self
    }

    /// Works `queue` with at most `concurrency` jobs at once on this client.
    pub fn queue(mut self, queue: impl Into<String>, concurrency: u32) -> Self {
        self.queues.push((queue.into(), concurrency));
        self
    }

    /// Runs jobs of `kind` with `worker`.
    pub fn register(mut self, kind: impl Into<String>, worker: impl Worker) -> Self {
        self.workers.insert(kind.into(), Arc::new(worker));
        self
    }

    /// Runs jobs of `kind` with an async function.
    pub fn register_fn<F, Fut>(self, kind: impl Into<String>, f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), JobError>> + Send + 'static,
    {
        self.register(kind, FnWorker(f))
    }

    /// Replaces the timings.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Reports claim, wait and run timings to `observer` (for histograms).
    pub fn observer(mut self, observer: Arc<dyn super::Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Checks the queues, kinds and timings.
    pub fn build(self) -> Result<Client> {
        self.config.validate()?;
        for (queue, concurrency) in &self.queues {
            validate_queue(queue)?;
            if *concurrency == 0 {
                return Err(ValidationError::NonPositive("queue concurrency").into());
            }
        }
        for kind in self.workers.keys() {
            validate_kind(kind)?;
        }
        for schedule in &self.schedules {
            schedule.validate()?;
        }
        let wakeups = Wakeups::new(self.queues.iter().map(|(q, _)| q.as_str()));
        Ok(Client {
            store: self.store,
            queues: self.queues,
            workers: Arc::new(self.workers),
            schedules: Arc::new(self.schedules),
            config: Arc::new(self.config),
            stats: Arc::new(Stats::with_observer(self.observer)),
            wakeups: Arc::new(wakeups),
        })
    }
}

/// Inserts jobs and runs workers. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    store: Store,
    queues: Vec<(String, u32)>,
    workers: Arc<HashMap<String, Arc<dyn Worker>>>,
    schedules: Arc<Vec<Schedule>>,
    config: Arc<ClientConfig>,
    stats: Arc<Stats>,
    wakeups: Arc<Wakeups>,
}

impl Client {
    /// Starts building a client on `store`.
    pub fn builder(store: Store) -> ClientBuilder {
        ClientBuilder {
            store,
            queues: Vec::new(),
            workers: HashMap::new(),
            schedules: Vec::new(),
            config: ClientConfig::default(),
            observer: None,
        }
    }

    /// The store this client works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The client's counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The client's timings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Inserts a job (or returns the existing one with its unique key) and
    /// wakes this client's producer of its queue. A job of a kind registered
    /// here is stored with the strictest of its flags and the worker's policy
    /// ([`super::EffectPolicy::effective`]); whatever path inserted it, the
    /// process that runs it applies the same rule again.
    pub async fn insert(&self, job: &NewJob) -> Result<InsertOutcome> {
        let outcome = match self.workers.get(&job.kind) {
            Some(worker) => {
                let policy = super::EffectPolicy::effective(
                    worker.policy(),
                    job.at_most_once,
                    job.reconcilable,
                );
                let (at_most_once, reconcilable) = policy.flags();
                let mut job = job.clone();
                job.at_most_once = at_most_once;
                job.reconcilable = reconcilable;
                self.store.job_insert(&job).await?
            }
            None => self.store.job_insert(job).await?,
        };
        if outcome.inserted {
            self.wakeups.wake(&job.queue);
        }
        Ok(outcome)
    }

    /// Starts the producers, the notification listener and the maintenance
    /// loop (leader election; rescuer, periodic enqueuer and pruner while leading).
    pub fn start(&self) -> Running {
        let stop_fetching = CancellationToken::new();
        let hard_stop = CancellationToken::new();
        // Fires once every producer (and its attempts' last writes) is done.
        let drained = CancellationToken::new();
        let mut producers = JoinSet::new();
        let mut services = JoinSet::new();
        // Ends once the producers (and their executors) are gone.
        let (completer, completing) =
            Completer::new(self.store.clone(), self.config.completion_batch);
        services.spawn(completing);
        let executor = Executor {
            store: self.store.clone(),
            config: self.config.clone(),
            stats: self.stats.clone(),
            hard_stop: hard_stop.clone(),
            completer,
            wakeups: self.wakeups.clone(),
        };
        for (queue, concurrency) in &self.queues {
            let Some(wakeup) = self.wakeups.get(queue) else {
                continue;
            };
            let producer = Producer {
                queue: queue.clone(),
                concurrency: *concurrency,
                workers: self.workers.clone(),
                executor: executor.clone(),
                wakeup,
                stop_fetching: stop_fetching.clone(),
            };
            producers.spawn(producer.run());
        }
        let queues = self
            .queues
            .iter()
            .map(|(q, n)| format!("{q}={n}"))
            .collect::<Vec<_>>()
            .join(",");
        services.spawn(super::registry::report(
            self.store.clone(),
            self.config.worker_id.clone(),
            queues,
            self.config.heartbeat_every,
            stop_fetching.clone(),
        ));
        // Kept until the last writes of a shutdown are done: a failover
        // during the shutdown must not leave them waiting on the old primary.
        services.spawn(super::primary::follow(self.store.clone(), drained.clone()));
        services.spawn(wakeups::forward(
            self.store.clone(),
            self.wakeups.clone(),
            stop_fetching.clone(),
        ));
        if self.config.maintenance {
            let store = self.store.clone();
            let config = &self.config;
            let maintainer = Maintainer {
                elector: Elector::new(
                    store.clone(),
                    config.worker_id.clone(),
                    config.leader.clone(),
                ),
                rescuer: Rescuer::new(
                    store.clone(),
                    RescuerConfig {
                        interval: config.rescue_every,
                        ..RescuerConfig::default()
                    },
                ),
                periodic: PeriodicEnqueuer::new(store.clone(), config.periodic.clone()),
                pruner: Pruner::new(store.clone(), config.pruner.clone()),
                schedules: self.schedules.as_ref().clone(),
                leader_resigned: self.wakeups.leader_resigned.clone(),
                wakeups: self.wakeups.clone(),
                stats: self.stats.clone(),
                store,
            };
            services.spawn(maintainer.run(stop_fetching.clone()));
        }
        Running {
            stop_fetching,
            hard_stop,
            drained,
            producers,
            services,
            grace: self.config.shutdown_grace,
        }
    }

    /// Runs until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(&self, signal: impl Future<Output = ()>) {
        let running = self.start();
        signal.await;
        running.shutdown().await;
    }
}

/// A started client. Dropping it aborts its tasks; call
/// [`Running::shutdown`] to stop gracefully.
pub struct Running {
    stop_fetching: CancellationToken,
    hard_stop: CancellationToken,
    drained: CancellationToken,
    producers: JoinSet<()>,
    services: JoinSet<()>,
    grace: std::time::Duration,
}

impl Running {
    /// Stops claiming, lets running jobs finish for the grace period, then
    /// cancels the rest and hands their leases back.
    pub async fn shutdown(self) {
        let grace = self.grace;
        self.shutdown_with_grace(grace).await
    }

    /// Like [`Running::shutdown`] with another grace period.
    pub async fn shutdown_with_grace(mut self, grace: std::time::Duration) {
        self.stop_fetching.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.producers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                "shutdown grace over: cancelling running jobs and handing back their leases"
            );
            self.hard_stop.cancel();
            while self.producers.join_next().await.is_some() {}
        }
        self.drained.cancel();
        while self.services.join_next().await.is_some() {}
    }
}
