//! Background workers that stop when asked, after the round they are in.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A background task that stops when asked, after the round it is in; dropping it asks
/// it to stop without waiting.
pub struct Worker {
    name: &'static str,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Worker {
    /// Spawns `body`, which must return soon after its token is cancelled.
    pub fn spawn<F, Fut>(name: &'static str, body: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let task = tokio::spawn(body(stop.clone()));
        Worker {
            name,
            stop,
            task: Some(task),
        }
    }

    /// Asks the worker to stop and waits until it has.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && let Err(err) = task.await
        {
            tracing::error!(worker = self.name, error = %err, "a worker ended abnormally");
        }
        tracing::debug!(worker = self.name, "worker stopped");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits `duration`, unless `stop` comes first; false when stopped.
pub async fn pause(stop: &CancellationToken, duration: Duration) -> bool {
    stop.run_until_cancelled(tokio::time::sleep(duration))
        .await
        .is_some()
}
