//! The maintenance loop every client runs: it takes part in the election and,
//! while it leads, runs the rescuer, the periodic enqueuer and the pruner on
//! their intervals. On shutdown a leader resigns so another takes over at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::leader::Elector;
use super::periodic::{is_leadership_lost, PeriodicEnqueuer};
use super::pruner::Pruner;
use super::rescuer::Rescuer;
use crate::schedule::Schedule;
use crate::store::{LeaderTerm, Store};

/// Everything the loop runs.
pub(crate) struct Maintainer {
    pub store: Store,
    pub elector: Elector,
    pub rescuer: Rescuer,
    pub periodic: PeriodicEnqueuer,
    pub pruner: Pruner,
    /// Schedules registered in code, stored at start.
    pub schedules: Vec<Schedule>,
    /// Fires when the leader resigns (PostgreSQL notification).
    pub leader_resigned: Arc<Notify>,
    /// Wakes this client's producers when a period's job lands in their queue.
    pub wakeups: Arc<crate::worker::wakeups::Wakeups>,
}

impl Maintainer {
    pub(crate) async fn run(self, stop: CancellationToken) {
        self.store_schedules(&stop).await;
        let mut term: Option<LeaderTerm> = None;
        let now = Instant::now();
        let (mut next_rescue, mut next_periodic, mut next_prune) = (now, now, now);
        let attempt_every = self.elector.config().attempt_every();
        while !stop.is_cancelled() {
            match self.elector.run_once().await {
                Ok(elected) => {
                    let changed = elected.as_ref().map(|t| t.term) != term.as_ref().map(|t| t.term);
                    if changed {
                        match &elected {
                            Some(t) => {
                                tracing::info!(leader = %t.leader_id, term = t.term, "became leader")
                            }
                            None if term.is_some() => tracing::warn!("lost leadership"),
                            None => {}
                        }
                    }
                    term = elected;
                }
                Err(error) => tracing::warn!(%error, "leader election failed"),
            }
            if let Some(t) = term.clone() {
                let now = Instant::now();
                if now >= next_rescue {
                    next_rescue = now + self.rescuer.config().interval;
                    match self.rescuer.run_once().await {
                        Ok(r) if r.total() > 0 => {
                            tracing::info!(report = ?r, "rescued jobs with expired leases")
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "rescue pass failed"),
                    }
                }
                if now >= next_periodic {
                    next_periodic = now + self.periodic.config().interval;
                    match self.periodic.run_once(&t).await {
                        Ok(report) => {
                            for queue in &report.queues {
                                self.wakeups.wake(queue);
                            }
                        }
                        Err(e) if is_leadership_lost(&e) => {
                            tracing::warn!(error = %e, "periodic writes refused: not the leader any more");
                            term = None;
                        }
                        Err(error) => tracing::warn!(%error, "periodic pass failed"),
                    }
                }
                if term.is_some() && now >= next_prune {
                    next_prune = now + self.pruner.config().interval;
                    match self.pruner.run_once(&t).await {
                        Ok(r) if r.jobs + r.firings > 0 => tracing::info!(report = ?r, "pruned"),
                        Ok(_) => {}
                        Err(e) if is_leadership_lost(&e) => term = None,
                        Err(error) => tracing::warn!(%error, "prune pass failed"),
                    }
                }
            }
            let wait = match &term {
                Some(_) => {
                    let soonest = next_rescue.min(next_periodic).min(next_prune);
                    soonest
                        .saturating_duration_since(Instant::now())
                        .min(attempt_every)
                }
                None => attempt_every,
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.leader_resigned.notified(), if term.is_none() => {}
            }
        }
        if let Some(t) = term {
            match self.elector.resign(&t).await {
                Ok(true) => tracing::info!(term = t.term, "resigned leadership"),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not resign leadership"),
            }
        }
    }

    /// Stores the schedules registered in code, retrying until it works or `stop`.
    async fn store_schedules(&self, stop: &CancellationToken) {
        for schedule in &self.schedules {
            loop {
                match self.store.schedule_upsert(schedule).await {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(schedule = %schedule.name, %error, "cannot store schedule; retrying");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
    }
}
