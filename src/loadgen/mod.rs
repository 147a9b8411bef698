//! `onsale loadgen`: load generators against running services, each printing a table.

mod edge;
mod holds;
mod idle;
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
    /// Many idle keep-alive connections: whether the server still answers, and the
    /// memory it holds for them.
    Idle(idle::IdleArgs),
}

/// Runs a scenario.
pub async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Holds(args) => holds::run(args).await,
        Scenario::Edge(args) => edge::run(args).await,
        Scenario::Live(args) => live::run(args).await,
        Scenario::Queue(args) => queue::run(args).await,
        Scenario::Idle(args) => idle::run(args).await,
    }
}

/// Signs a load-test user up (email and phone derived from `username` and `phone_digits`)
/// and logs it in; returns its bearer token.
async fn sign_up_and_log_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    phone_digits: u64,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let password = "loadgen-password";
    client
        .post(format!("{base}/v1/users"))
        .json(&serde_json::json!({
            "username": username,
            "email": format!("{username}@loadgen.invalid"),
            "phone": format!("+1{phone_digits:010}"),
            "password": password,
        }))
        .send()
        .await?
        .error_for_status()
        .context("sign-up")?;
    let session: onsale_model::Session = client
        .post(format!("{base}/v1/sessions"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await?
        .error_for_status()
        .context("log-in")?
        .json()
        .await?;
    Ok(session.token)
}
