//! `onsale loadgen live`: N WebSocket clients subscribe to one event's live seat feed,
//! then one buyer holds seats one at a time; every client records when each change
//! arrives. Latency is measured from just before the hold request is sent (so it
//! includes the request itself: an upper bound on commit-to-client time); the table also
//! shows the hold requests' own round trips.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::StreamExt;
use futures::future::join_all;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Barrier, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// Flags of `onsale loadgen live`.
#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// The coordinator.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Operator token, to create the event.
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: String,
    /// WebSocket clients.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Seat changes to send (one hold each).
    #[arg(long, default_value_t = 100)]
    changes: usize,
    /// Pause between two changes.
    #[arg(long, default_value = "100ms", value_parser = crate::duration::parse_duration)]
    interval: Duration,
    /// The coordinator's process id, to report its memory per client.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs the scenario and prints its table.
pub async fn run(args: LiveArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let event: Value = http
        .post(format!("{base}/v1/operator/events"))
        .bearer_auth(&args.operator_token)
        .json(
            &json!({"name": "Loadgen Live Night", "category": "concert", "venue": "Feed Hall",
            "city": "Localhost", "starts_at": "2030-01-01T20:00:00Z", "currency": "EUR",
            "seat_map": {"sections": [{"id": "A", "name": "A", "price": 1000,
                "rows": [{"name": "1", "seats": args.changes.max(1)}]}]}}),
        )
        .send()
        .await
        .context("is the coordinator running?")?
        .error_for_status()?
        .json()
        .await?;
    let event_id = event["id"].as_u64().context("event id")?;
    let user = format!("live{:08x}", rand::random::<u32>());
    http.post(format!("{base}/v1/users"))
        .json(
            &json!({"username": user, "email": format!("{user}@loadgen.invalid"),
            "phone": format!("+1{:010}", rand::random::<u32>()), "password": "loadgen-password"}),
        )
        .send()
        .await?
        .error_for_status()?;
    let session: Value = http
        .post(format!("{base}/v1/sessions"))
        .json(&json!({"username": user, "password": "loadgen-password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["token"].as_str().context("token")?.to_string();

    let before = args.server_pid.and_then(rss_kib);
    let ws_url = format!(
        "{}/v1/events/{event_id}/live",
        base.replace("http://", "ws://")
    );
    let connected = Arc::new(Barrier::new(args.clients + 1));
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let connect_started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|_| {
            let (ws_url, connected, sent_at) = (ws_url.clone(), connected.clone(), sent_at.clone());
            let expected = args.changes;
            tokio::spawn(async move {
                let opened = tokio_tungstenite::connect_async(&ws_url).await;
                let mut socket = match opened {
                    Ok((mut socket, _)) => {
                        let _snapshot = socket.next().await;
                        socket
                    }
                    Err(err) => {
                        connected.wait().await;
                        return Err(anyhow::Error::from(err));
                    }
                };
                connected.wait().await;
                let mut arrivals = Vec::with_capacity(expected);
                while arrivals.len() < expected {
                    let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
                        .await
                        .context("feed went quiet")?
                        .context("feed closed")??;
                    // Only the seat id is needed: cut it out rather than parse the JSON,
                    // so that ten thousand clients cost the shared CPU little.
                    if let Message::Text(text) = message
                        && text.contains("\"state\":\"held\"")
                        && let Some(seat) = text
                            .split("\"seat_id\":\"")
                            .nth(1)
                            .and_then(|rest| rest.split('"').next())
                    {
                        arrivals.push((seat.to_string(), Instant::now()));
                    }
                }
                let sent = sent_at.lock().await;
                let mut latencies = Histogram::<u64>::new(3)?;
                for (seat, at) in arrivals {
                    if let Some(start) = sent.get(&seat) {
                        latencies.record(at.saturating_duration_since(*start).as_micros() as u64)?;
                    }
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    connected.wait().await;
    let connect_time = connect_started.elapsed();
    let during = args.server_pid.and_then(rss_kib);

    let mut requests = Histogram::<u64>::new(3)?;
    for n in 1..=args.changes {
        let seat = format!("A-1-{n}");
        let started = Instant::now();
        sent_at.lock().await.insert(seat.clone(), started);
        let response = http
            .post(format!("{base}/v1/events/{event_id}/holds"))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("live-{n}"))
            .json(&json!({"seats": [seat]}))
            .send()
            .await?;
        ensure!(
            response.status().as_u16() == 201,
            "hold failed: {}",
            response.status()
        );
        requests.record(started.elapsed().as_micros() as u64)?;
        tokio::time::sleep(args.interval).await;
    }
    let mut latencies = Histogram::<u64>::new(3)?;
    let mut failed = 0;
    for client in join_all(clients).await {
        match client? {
            Ok(h) => latencies.add(&h)?,
            Err(_) => failed += 1,
        }
    }
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!(
        "onsale loadgen live: {} clients, {} changes",
        args.clients, args.changes
    );
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| clients connected (got the state) | {} in {:.1} s |",
        args.clients - failed,
        connect_time.as_secs_f64()
    );
    println!("| failed clients | {failed} |");
    println!("| deliveries | {} |", latencies.len());
    println!("| latency p50 | {:.1} ms |", ms(0.5));
    println!("| latency p99 | {:.1} ms |", ms(0.99));
    println!(
        "| latency max | {:.1} ms |",
        latencies.max() as f64 / 1000.0
    );
    println!(
        "| hold request (durable commit), p50 / p99 | {:.1} / {:.1} ms |",
        requests.value_at_quantile(0.5) as f64 / 1000.0,
        requests.value_at_quantile(0.99) as f64 / 1000.0
    );
    if let (Some(before), Some(during)) = (before, during) {
        let per_client = (during.saturating_sub(before) as f64 * 1024.0) / args.clients as f64;
        println!(
            "| server memory per client | {:.1} KiB |",
            per_client / 1024.0
        );
    }
    Ok(())
}
