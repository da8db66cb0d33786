//! A scenario's own database, dropped when the scenario is done with it.
//!
//! Invariant: every PostgreSQL or MariaDB database a scenario makes is
//! dropped again when its [`Scratch`] goes, on success, error or panic — a
//! benchmark run against someone's server leaves nothing behind. (Left
//! behind, each held a whole backlog, and with `autovacuum_naptime` 1 s the
//! launcher kept visiting hundreds of them: peers measured after a long run
//! were slowed by what earlier scenarios left.)

use std::ops::Deref;

use oncely_testkit::TestDb;

/// A fresh database for one scenario; derefs to the [`TestDb`].
pub(crate) struct Scratch(Option<TestDb>);

impl Scratch {
    pub(crate) fn new(db: TestDb) -> Self {
        Scratch(Some(db))
    }
}

impl Deref for Scratch {
    type Target = TestDb;

    fn deref(&self) -> &TestDb {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some(db) = self.0.take() else {
            return;
        };
        // Drop runs inside the scenario's runtime, which must not block on
        // itself: the database goes from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("a runtime to drop the database: {e}"))?;
            runtime.block_on(db.drop_database())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("oncely-bench: could not drop a scenario's database: {error}")
            }
            Err(_) => eprintln!("oncely-bench: dropping a scenario's database panicked"),
        }
    }
}
