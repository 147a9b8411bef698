//! `onsale loadgen`: load generators against running services, each printing a table.

mod bookings;
mod catalogue;
mod edge;
mod holds;
mod idle;
mod live;
mod queue;

use clap::Subcommand;

/// A load scenario. Every simulated buyer comes from this machine's one address: run the
/// services under test with `--rate-limits off` (`ONSALE_RATE_LIMITS=off`), or their
/// per-address limits answer most requests `429`.
#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Concurrent seat holds on one large event; checks that no seat is held twice.
    Holds(holds::HoldsArgs),
    /// Pending bookings (hold one seat, then check out) by concurrent buyers; checks that
    /// no seat is booked twice.
    Bookings(bookings::BookingsArgs),
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
    /// Publishes a generated catalogue of N events as a snapshot folder, for an edge to
    /// serve in its benchmarks.
    Catalogue(catalogue::CatalogueArgs),
}

/// Runs a scenario.
pub async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Holds(args) => holds::run(args).await,
        Scenario::Bookings(args) => bookings::run(args).await,
        Scenario::Edge(args) => edge::run(args).await,
        Scenario::Live(args) => live::run(args).await,
        Scenario::Queue(args) => queue::run(args).await,
        Scenario::Idle(args) => idle::run(args).await,
        Scenario::Catalogue(args) => catalogue::run(args).await,
    }
}

/// Signs a load-test user up (email and phone derived from `username` and `phone_digits`)
/// and logs it in; returns its bearer token. A coordinator whose password queue is full
/// (`503 busy`) or that rate-limits this machine (`429`) is asked again after its
/// `Retry-After`.
async fn sign_up_and_log_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    phone_digits: u64,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let password = "loadgen-password";
    let sign_up = serde_json::json!({
        "username": username,
        "email": format!("{username}@loadgen.invalid"),
        "phone": format!("+1{phone_digits:010}"),
        "password": password,
    });
    post_patiently(client, &format!("{base}/v1/users"), &sign_up)
        .await?
        .error_for_status()
        .context("sign-up")?;
    let log_in = serde_json::json!({"username": username, "password": password});
    let session: onsale_model::Session =
        post_patiently(client, &format!("{base}/v1/sessions"), &log_in)
            .await?
            .error_for_status()
            .context("log-in")?
            .json()
            .await?;
    Ok(session.token)
}

/// Posts `body` to `url`, again after `Retry-After` while the answer is `503` or `429`
/// (at most 60 times).
async fn post_patiently(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> anyhow::Result<reqwest::Response> {
    let mut attempts = 0;
    loop {
        let response = client.post(url).json(body).send().await?;
        let status = response.status().as_u16();
        attempts += 1;
        if !matches!(status, 429 | 503) || attempts >= 60 {
            return Ok(response);
        }
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
}
