//! Running a coordinator: its API and every background task, started together and
//! stopped in order, as mini-redis's server stops its connection handlers.
//!
//! [`run`] starts the workers (the live hub's log follower, the notifier, the task
//! worker, waiting-room admission, the sweeper, and `/metrics` on a listener of its own),
//! serves the API until `shutdown`, lets requests in flight drain, and then stops the
//! workers one by one in the reverse of their start order: first those that make new
//! state changes (the sweeper, admission, the task worker), then those that only follow
//! the log. A worker finishes the round it is in (every round is its own transactions),
//! so nothing is cut half-way.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::notify::Mailer;
use crate::services::Coordinator;
use crate::worker::Worker;
use crate::{api, hub, notify, sweeper, tasks, waiting_room};

/// How often the live hub reads the log when nothing was committed here.
const HUB_POLL: Duration = Duration::from_millis(20);
/// How often the notifier reads the log when no booking changed here.
const NOTIFIER_POLL: Duration = Duration::from_millis(500);
/// How often the task worker looks for retries and ended leases.
const TASK_POLL: Duration = Duration::from_millis(500);
/// How often waiting rooms admit people.
const ADMISSION_INTERVAL: Duration = Duration::from_secs(1);

/// How a coordinator runs besides its store and settings.
pub struct RunConfig {
    /// The API's connection limits and TLS.
    pub server: onsale_server::Settings,
    /// How often expired holds are swept.
    pub sweep_interval: Duration,
    /// Whether this coordinator works the task queue (payment outcomes, refunds); at
    /// least one coordinator on a store must.
    pub task_worker: bool,
    /// Where emails go out; without one, notifications are in-app only.
    pub mailer: Option<Mailer>,
    /// A listener of its own for `/metrics` (it is also on the API at `/metrics`).
    pub metrics: Option<TcpListener>,
}

impl RunConfig {
    /// A plain-HTTP API with default limits, the task worker on, no email, no separate
    /// metrics listener.
    pub fn new(server: onsale_server::Settings) -> Self {
        RunConfig {
            server,
            sweep_interval: Duration::from_secs(1),
            task_worker: true,
            mailer: None,
            metrics: None,
        }
    }
}

/// Serves `coordinator`'s API on `listener` and runs its background work until
/// `shutdown` completes; then drains requests and stops every worker in order.
pub async fn run(
    coordinator: Coordinator,
    config: RunConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut workers = vec![
        hub::spawn_follower(
            coordinator.hub().clone(),
            coordinator.seat_views().clone(),
            coordinator.changelog().clone(),
            HUB_POLL,
        ),
        notify::spawn(
            coordinator.notifications().clone(),
            config.mailer,
            NOTIFIER_POLL,
        ),
    ];
    if config.task_worker {
        workers.push(tasks::spawn(coordinator.bookings().clone(), TASK_POLL));
    }
    workers.push(waiting_room::spawn(
        coordinator.waiting_rooms().clone(),
        ADMISSION_INTERVAL,
    ));
    workers.push(sweeper::spawn(
        coordinator.bookings().clone(),
        coordinator.accounts().clone(),
        config.sweep_interval,
    ));
    if let Some(listener) = config.metrics {
        workers.push(Worker::spawn("metrics", move |stop| async move {
            if let Err(err) = api::metrics::serve(listener, stop.cancelled_owned()).await {
                tracing::error!(error = %err, "the metrics listener stopped");
            }
        }));
    }
    let served =
        onsale_server::serve(listener, api::router(coordinator), config.server, shutdown).await;
    for worker in workers.into_iter().rev() {
        worker.stop().await;
    }
    tracing::info!("coordinator stopped");
    served
}
