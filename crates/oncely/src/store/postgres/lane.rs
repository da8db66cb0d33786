//! Lanes: one pool connection kept for one hot statement (a client's claims,
//! its batched completions), so that statement always runs on the same
//! server backend.
//!
//! Why: the pool hands idle connections out in turn, so without a lane every
//! claim and completion lands on another backend of the pool, and each
//! backend pays again for what the previous one had warm — its plan cache
//! (the claim is planned once per backend), its catalog caches, and the
//! page-table entries of the shared buffers it reads (the drain's profile
//! showed a fifth of PostgreSQL's time in page faults with ten connections in
//! turn). Measured in `docs/benchmarks.md` ("Latest: lanes, and a fair start").
//!
//! Invariants: a lane holds at most one connection, taken from the pool (it
//! counts against the pool's size), and only in a pool of at least
//! [`LANES_FROM`] connections — in a smaller one (an application's own pool,
//! say) the lanes would leave too few for everything else, so every statement
//! takes a pooled connection as before; a caller that finds the lane busy (a
//! second queue claiming at the same moment) gets a pooled connection instead
//! and never waits for the lane; a connection whose statement failed is
//! closed, never kept, so a broken connection is used at most once; after a
//! failover switch a connection taken before it is closed unused (it may
//! reach the old primary).

use std::sync::Arc;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{Mutex, MutexGuard};

use super::hosts::Hosts;
use crate::error::Result;

/// The smallest pool whose lanes keep connections: two lanes, and at least
/// three connections for everything else (heartbeats, maintenance, other
/// outcomes, an application's own statements).
pub(crate) const LANES_FROM: u32 = 5;

/// A connection kept for one statement.
#[derive(Debug, Default)]
pub(crate) struct Lane {
    kept: Mutex<Option<Kept>>,
}

#[derive(Debug)]
pub(crate) struct Kept {
    conn: PoolConnection<Postgres>,
    /// When it was taken from the pool (the pool checked it then).
    taken: Instant,
    /// Whether its pool keeps a minimum of connections (it then replaces one
    /// leaving it, which takes a Tokio runtime).
    pool_keeps_minimum: bool,
}

impl Drop for Lane {
    /// Gives the kept connection back. Dropped outside a Tokio runtime (a
    /// store outliving its runtime), the pool could not take it back — sqlx
    /// would panic spawning the return — so it is detached and closed there
    /// and then; if its pool would replace it (a minimum of connections,
    /// which also needs a runtime), it is left to the process's end instead.
    fn drop(&mut self) {
        let Some(kept) = self.kept.get_mut().take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        if kept.pool_keeps_minimum {
            std::mem::forget(kept.conn);
        } else {
            drop(kept.conn.detach());
        }
    }
}

/// A connection for one use: the lane's (taken out of it while in use), or
/// a pooled one when the lane was busy. Dropped without [`Leased::settle`]
/// (a cancelled statement), the connection goes back to the pool, not to the
/// lane.
pub(crate) enum Leased<'a> {
    Lane {
        slot: MutexGuard<'a, Option<Kept>>,
        kept: Kept,
    },
    Pool(PoolConnection<Postgres>),
}

impl Lane {
    /// The lane's connection if the lane is free (taking one from `pool` if it
    /// holds none, or holds one from before the last switch of `hosts`), else
    /// a pooled connection.
    pub(crate) async fn lease<'a>(
        &'a self,
        pool: &PgPool,
        hosts: Option<&Arc<Hosts>>,
    ) -> Result<Leased<'a>> {
        if pool.options().get_max_connections() < LANES_FROM {
            return Ok(Leased::Pool(pool.acquire().await?));
        }
        let Ok(mut slot) = self.kept.try_lock() else {
            return Ok(Leased::Pool(pool.acquire().await?));
        };
        let kept = match slot.take() {
            Some(k) if hosts.is_none_or(|h| k.taken.elapsed() <= h.since_switch()) => k,
            Some(mut old) => {
                // Taken before the switch: it may reach the old primary.
                old.conn.close_on_drop();
                drop(old);
                Kept::take(pool).await?
            }
            None => Kept::take(pool).await?,
        };
        Ok(Leased::Lane { slot, kept })
    }
}

impl Kept {
    async fn take(pool: &PgPool) -> Result<Kept> {
        Ok(Kept {
            conn: pool.acquire().await?,
            taken: Instant::now(),
            pool_keeps_minimum: pool.options().get_min_connections() > 0,
        })
    }
}

impl Leased<'_> {
    /// The connection to run the statement on.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        match self {
            Leased::Lane { kept, .. } => &mut kept.conn,
            Leased::Pool(conn) => conn,
        }
    }

    /// Puts the connection back in its lane if `outcome` is a success;
    /// closes it otherwise (it may be broken, or inside a failed
    /// transaction), so the lane takes a fresh one next time.
    pub(crate) fn settle<T, E>(
        self,
        outcome: std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        match (self, outcome.is_ok()) {
            (Leased::Lane { mut slot, kept }, true) => *slot = Some(kept),
            (Leased::Lane { mut kept, .. }, false) => kept.conn.close_on_drop(),
            (Leased::Pool(mut conn), false) => conn.close_on_drop(),
            (Leased::Pool(_), true) => {}
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oncely_testkit::{Backend, TestDb};
    use sqlx::postgres::PgPoolOptions;

    async fn pid(leased: &mut Leased<'_>) -> i32 {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(leased.conn())
            .await
            .expect("pid")
    }

    async fn pool(db: &TestDb, size: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(size)
            .connect(&db.url)
            .await
            .expect("pool")
    }

    #[tokio::test]
    async fn a_lane_keeps_one_backend_while_the_pool_hands_out_others() {
        let db = TestDb::new(Backend::Postgres).await;
        let pool = pool(&db, LANES_FROM).await;
        // Three idle connections in the pool, handed out in turn.
        let warm: Vec<_> = futures_util::future::join_all((0..3).map(|_| pool.acquire())).await;
        drop(warm);
        let lane = Lane::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..6 {
            let mut leased = lane.lease(&pool, None).await.expect("lease");
            seen.insert(pid(&mut leased).await);
            leased.settle(Ok::<(), ()>(())).expect("ok");
            // Another user of the pool in between.
            let mut other = pool.acquire().await.expect("acquire");
            sqlx::query("SELECT 1")
                .execute(&mut *other)
                .await
                .expect("select");
        }
        assert_eq!(seen.len(), 1, "the lane's statements ran on {seen:?}");
        // Busy: a second caller gets a pooled connection at once.
        let mut first = lane.lease(&pool, None).await.expect("lease");
        let mut second = lane.lease(&pool, None).await.expect("lease");
        assert!(matches!(second, Leased::Pool(_)));
        assert_ne!(pid(&mut first).await, pid(&mut second).await);
    }

    #[test]
    fn a_lane_dropped_after_its_runtime_does_not_panic() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let (db, pool, lane) = runtime.block_on(async {
            let db = TestDb::new(Backend::Postgres).await;
            let pool = pool(&db, LANES_FROM).await;
            let lane = Lane::default();
            let leased = lane.lease(&pool, None).await.expect("lease");
            leased.settle(Ok::<(), ()>(())).expect("ok");
            (db, pool, lane)
        });
        assert!(
            lane.kept.try_lock().expect("free").is_some(),
            "the lane keeps one"
        );
        drop(runtime);
        drop(lane);
        drop(pool);
        drop(db);
    }

    #[tokio::test]
    async fn a_small_pool_keeps_no_lane() {
        let db = TestDb::new(Backend::Postgres).await;
        let pool = pool(&db, LANES_FROM - 1).await;
        let lane = Lane::default();
        let leased = lane.lease(&pool, None).await.expect("lease");
        assert!(matches!(leased, Leased::Pool(_)));
        leased.settle(Ok::<(), ()>(())).expect("ok");
        assert!(lane.kept.try_lock().expect("free").is_none());
        // The pool's connections stay free for the rest: all of them at once.
        let all = futures_util::future::join_all((0..LANES_FROM - 1).map(|_| pool.acquire())).await;
        assert!(all.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn a_failed_statement_empties_the_lane_and_a_switch_renews_it() {
        let db = TestDb::new(Backend::Postgres).await;
        let pool = pool(&db, LANES_FROM).await;
        let lane = Lane::default();
        let mut leased = lane.lease(&pool, None).await.expect("lease");
        let before = pid(&mut leased).await;
        let failed = sqlx::query("SELECT 1/0").execute(leased.conn()).await;
        assert!(leased.settle(failed).is_err());
        assert!(
            lane.kept.try_lock().expect("free").is_none(),
            "a failed connection is not kept"
        );
        let mut leased = lane.lease(&pool, None).await.expect("lease");
        assert_ne!(
            pid(&mut leased).await,
            before,
            "the failed connection was closed"
        );
        leased.settle(Ok::<(), ()>(())).expect("ok");
        // A failover switch after the lane took its connection: renewed.
        let options: sqlx::postgres::PgConnectOptions = db.url.parse().expect("options");
        let hosts = Arc::new(Hosts::new(vec![options], 0));
        let mut leased = lane.lease(&pool, Some(&hosts)).await.expect("lease");
        let kept = pid(&mut leased).await;
        leased.settle(Ok::<(), ()>(())).expect("ok");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        hosts.switch_to(0);
        let mut leased = lane.lease(&pool, Some(&hosts)).await.expect("lease");
        assert_ne!(
            pid(&mut leased).await,
            kept,
            "a connection from before the switch was dropped"
        );
    }
}
