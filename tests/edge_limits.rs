//! The native edge's rate limits, as processes: `onsale coordinator` and `onsale edge`
//! with limits on. The edge refuses a flooding client itself, while others pass; and it
//! tells the coordinator each client's address (with the shared edge secret), so the
//! coordinator's own limits tell the clients behind one edge apart and a client cannot
//! pass itself off as another.

mod common;

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Process, start};

/// `onsale coordinator` on a fresh store, with `flags`.
fn coordinator(dir: &std::path::Path, flags: &[&str]) -> Process {
    let store = format!("fjall:{}", dir.join("store").display());
    let mut args = vec!["coordinator", "--store", &store, "--listen", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    start(&args, true)
}

/// `onsale edge` in front of `coordinator`, with `flags` (no snapshot is needed: only
/// writes are sent).
fn edge(coordinator: &str, dir: &std::path::Path, flags: &[&str]) -> Process {
    let snapshots = dir.join("snapshots").display().to_string();
    let mut args = vec![
        "edge",
        "--coordinator",
        coordinator,
        "--snapshots",
        &snapshots,
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(flags);
    start(&args, true)
}

/// A client whose connections come from `address` (any 127.x address works locally).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let mut request = http.post(url).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, retry_after, body)
}

async fn sign_up(http: &reqwest::Client, edge: &str, username: &str) {
    let body = json!({"username": username, "email": format!("{username}@example.com"),
        "phone": "+15550004444", "password": "correct horse"});
    let (status, _, body) = post(http, &format!("{edge}/v1/users"), &[], body).await;
    assert_eq!(status, 201, "{body}");
}

/// Log-in statuses of `attempts` wrong log-ins (a new username each time, so that only
/// rate limits apply), with `headers`.
async fn wrong_log_ins(
    http: &reqwest::Client,
    edge: &str,
    attempts: usize,
    headers: &[(&str, &str)],
) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..attempts {
        let body = json!({"username": format!("nobody{i}"), "password": "wrong"});
        let (status, retry_after, body) =
            post(http, &format!("{edge}/v1/sessions"), headers, body).await;
        if status == 429 {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
            assert!(seconds >= 1);
        }
        statuses.push(status.as_u16());
    }
    statuses
}

#[tokio::test]
async fn the_edge_refuses_a_flooding_client_before_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = coordinator(dir.path(), &["--rate-limits", "off"]);
    let edge = edge(
        &coordinator.url,
        dir.path(),
        &["--rate-limits", "on", "--rate-login", "3/min"],
    );
    let flooder = client_from("127.0.0.1");
    assert_eq!(
        wrong_log_ins(&flooder, &edge.url, 5, &[]).await,
        [401, 401, 401, 429, 429]
    );
    // A client cannot get round it by naming another address itself.
    let spoofed = [("x-onsale-client-ip", "198.51.100.9")];
    assert_eq!(wrong_log_ins(&flooder, &edge.url, 1, &spoofed).await, [429]);
    // Another client logs in.
    let other = client_from("127.0.0.3");
    sign_up(&other, &edge.url, "patient").await;
    let log_in = json!({"username": "patient", "password": "correct horse"});
    let (status, _, body) = post(&other, &format!("{}/v1/sessions", edge.url), &[], log_in).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_coordinator_limits_each_client_behind_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "edge-to-coordinator-s3cret";
    let coordinator = coordinator(
        dir.path(),
        &[
            "--rate-limits",
            "on",
            "--rate-login",
            "3/min",
            "--edge-secret",
            secret,
        ],
    );
    let edge = edge(
        &coordinator.url,
        dir.path(),
        &["--rate-limits", "off", "--edge-secret", secret],
    );
    // Every request reaches the coordinator from the edge's one address; the coordinator
    // still counts per client, because the edge names each one.
    let flooder = client_from("127.0.0.1");
    assert_eq!(
        wrong_log_ins(&flooder, &edge.url, 4, &[]).await,
        [401, 401, 401, 429]
    );
    let spoofed = [
        ("x-onsale-client-ip", "198.51.100.9"),
        ("x-onsale-edge-secret", "a guess"),
    ];
    assert_eq!(
        wrong_log_ins(&flooder, &edge.url, 1, &spoofed).await,
        [429],
        "the edge replaces what the client says"
    );
    let other = client_from("127.0.0.3");
    assert_eq!(wrong_log_ins(&other, &edge.url, 1, &[]).await, [401]);

    // Straight to the coordinator without the secret, the header is not believed.
    assert_eq!(
        wrong_log_ins(&flooder, &coordinator.url, 1, &spoofed).await,
        [429]
    );
}
