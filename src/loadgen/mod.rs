//! `onsale loadgen`: load generators against running services, each printing a table.

mod edge;
mod holds;

use clap::Subcommand;

/// A load scenario.
#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Concurrent seat holds on one large event; checks that no seat is held twice.
    Holds(holds::HoldsArgs),
    /// Keep-alive GETs of cached pages from the edge (or any HTTP server, to compare).
    Edge(edge::EdgeArgs),
}

/// Runs a scenario.
pub async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Holds(args) => holds::run(args).await,
        Scenario::Edge(args) => edge::run(args).await,
    }
}
