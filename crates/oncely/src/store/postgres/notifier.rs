//! Wake-up notifications for inserted jobs, sent by the inserting driver at
//! most once per queue per [`NOTIFY_EVERY`] instead of by a trigger on every
//! row: every notifying commit takes PostgreSQL's notification queue lock, and
//! a per-row notification nearly halved single-job insert throughput.
//!
//! Invariant: a job that becomes available by an insert is followed, within
//! [`NOTIFY_EVERY`], by a notification for its queue sent after it (or is
//! found by the echo claim a producer makes [`NOTIFY_EVERY`] after each
//! wake-up), so workers in other processes never wait a poll interval for it.
//! The notification is sent in the inserting transaction: rolled back with it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgConnection;

use crate::error::Result;

/// At most one insert notification per queue per this period, per driver.
/// It bounds how long a job inserted without a notification of its own waits
/// for the next one: 10 ms gave a pickup p99 of 9–22 ms at 200 jobs/s, 5 ms
/// 7–17 ms in the same runs (paired, 6 of 6 lower; `docs/benchmarks.md`),
/// while notifying commits stay at most 200 per second per queue.
pub const NOTIFY_EVERY: Duration = Duration::from_millis(5);

/// When each queue was last notified by this driver.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    last: Mutex<HashMap<String, Instant>>,
}

impl Notifier {
    /// Whether an insert into `queue` should notify now (and records it).
    pub(crate) fn due(&self, queue: &str) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get_mut(queue) {
            Some(at) if now.duration_since(*at) < NOTIFY_EVERY => false,
            Some(at) => {
                *at = now;
                true
            }
            None => {
                last.insert(queue.to_owned(), now);
                true
            }
        }
    }
}

/// Notifies the workers listening for `queue`, inside the caller's
/// transaction (delivered when it commits).
pub(crate) async fn notify(conn: &mut PgConnection, mode: super::Mode, queue: &str) -> Result<()> {
    sqlx::query(include_str!("sql/job_notify.sql"))
        .bind(queue)
        .execute(super::In(conn, mode))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notification_per_queue_per_period() {
        let n = Notifier::default();
        assert!(n.due("a"));
        assert!(!n.due("a"), "debounced");
        assert!(n.due("b"), "queues are separate");
        std::thread::sleep(NOTIFY_EVERY + Duration::from_millis(2));
        assert!(n.due("a"));
    }
}
