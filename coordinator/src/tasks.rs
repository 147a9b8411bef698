//! The task worker: runs the durable queue kept in the store (payment outcomes, refunds).
//! Tasks survive restarts; a task whose worker died is retried when its lease ends, and a
//! failing task is retried with backoff. Several coordinators may run workers on one
//! store: claiming a task is a transaction, so each runs once at a time.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::booking::Coordinator;

/// Tasks claimed per round.
const BATCH: usize = 32;

/// Runs due tasks as soon as they are queued, and otherwise every `interval` (for retries
/// and leases that ran out).
pub fn spawn(coordinator: Coordinator, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match coordinator.run_due_tasks(BATCH).await {
                Ok(n) if n == BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "running tasks failed"),
            }
            tokio::select! {
                () = coordinator.task_queued() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}
