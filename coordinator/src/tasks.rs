//! The task worker: runs the durable queue kept in the store (payment outcomes, refunds).
//! Tasks survive restarts; a task whose worker died is retried when its lease ends, and a
//! failing task is retried with backoff. Several coordinators may run workers on one
//! store: claiming a task is a transaction, so each runs once at a time.

use std::time::Duration;

use crate::booking::Bookings;
use crate::changelog::Topic;
use crate::worker::Worker;

/// Tasks claimed per round.
const BATCH: usize = 32;

/// Runs due tasks as soon as they are queued, and otherwise every `interval` (for retries
/// and leases that ran out).
pub fn spawn(bookings: Bookings, interval: Duration) -> Worker {
    Worker::spawn("tasks", move |stop| async move {
        let mut queued = bookings.changelog().follow(Topic::Tasks);
        while !stop.is_cancelled() {
            match bookings.run_due_tasks(BATCH).await {
                Ok(n) if n == BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "running tasks failed"),
            }
            stop.run_until_cancelled(queued.wait(interval)).await;
        }
    })
}
