//! `onsale loadgen`: load generators against running services, each printing a table.

mod edge;
mod holds;
mod live;
mod queue;

use clap::Subcommand;

/// A load scenario.
#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Concurrent seat holds on one large event; checks that no seat is held twice.
    Holds(holds::HoldsArgs),
    /// Many WebSocket clients on one event's live feed; latency from a hold's commit to
    /// every client.
    Live(live::LiveArgs),
    /// Keep-alive GETs of cached pages from the edge (or any HTTP server, to compare).
    Edge(edge::EdgeArgs),
    /// Many people join one event's waiting room; joins per second, position look-ups,
    /// and (`--in-process`) store bytes per queued person.
    Queue(queue::QueueArgs),
}

/// Runs a scenario.
pub async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Holds(args) => holds::run(args).await,
        Scenario::Edge(args) => edge::run(args).await,
        Scenario::Live(args) => live::run(args).await,
        Scenario::Queue(args) => queue::run(args).await,
    }
}
