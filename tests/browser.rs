//! onsale's pages in a real browser, each journey on its own `onsale dev` (coordinator,
//! indexer, edge, sandbox payments), driven in Debian's Chromium through playwright-core:
//! the event page's seat map and the waiting-room page (`tests/browser/seat_map.mjs`, on
//! an event of known seats) and the operator console (`tests/browser/console.mjs`, from
//! an operator account made on the command line). See those scripts for what is checked.
//!
//! Needs Node.js, `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci` in `tests/browser`;
//! without them the test prints "skipped" and passes, except in CI (`CI=true`), where
//! `.ci/run` installs them and a missing one fails it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// What `onsale dev` prints on its first lines.
struct Dev {
    process: common::Process,
    edge: String,
    coordinator: String,
    operator_token: String,
}

fn start_dev(data: &Path) -> Dev {
    let mut child = Command::new(common::ONSALE)
        .args(["dev", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start onsale dev");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("read onsale dev's output");
        lines.push(line.trim().to_string());
    }
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let last_word = |n: usize| lines[n].rsplit(' ').next().unwrap_or_default().to_string();
    Dev {
        edge: last_word(0),
        coordinator: last_word(1),
        operator_token: last_word(3),
        process: common::Process::adopt(child),
    }
}

/// Whether the browser tools are here; outside CI a missing one skips the test.
fn browser_ready(dir: &Path) -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut missing = Vec::new();
    if !Path::new(&chromium).exists() {
        missing.push(chromium);
    }
    if !dir.join("node_modules/playwright-core").exists() {
        missing.push("tests/browser/node_modules (npm ci)".into());
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".into());
    }
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must have the browser tools; missing {missing:?}"
    );
    eprintln!("skipped: missing {missing:?}");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seat_map_and_waiting_room_work_in_a_browser() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !browser_ready(&dir) {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let dev = start_dev(data.path());
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{}/v1/operator/events", dev.coordinator))
        .bearer_auth(&dev.operator_token)
        .json(&json!({
            "name": "Seat map night", "category": "concert", "venue": "Hall", "city": "Leeds",
            "starts_at": "2030-05-01T19:30:00Z", "time_zone": "Europe/London", "currency": "GBP",
            "seat_map": {"sections": [
                {"id": "FLR", "name": "Floor", "price": 5000, "rows": [
                    {"name": "A", "seats": 8}, {"name": "B", "seats": 8, "price": 4000}]},
                {"id": "BAL", "name": "Balcony", "price": 2500, "rows": [{"name": "A", "seats": 6}]}
            ]}
        }))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("create the event")
        .json()
        .await
        .expect("the created event");
    let id = created["id"].as_u64().expect("event id").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("{}/v1/events/{id}", dev.edge);
    while !client
        .get(&url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the event never reached the edge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let run = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("seat_map.mjs")
        .args([&dev.edge, &dev.coordinator, &dev.operator_token, &id])
        .output()
        .await
        .expect("run node");
    finish(dev, run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_console_works_in_a_browser() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !browser_ready(&dir) {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let dev = start_dev(data.path());
    let added = Command::new(common::ONSALE)
        .args(["operator", "add", "door.lead", "--role", "admin", "--url"])
        .arg(&dev.coordinator)
        .args(["--operator-token", &dev.operator_token])
        .output()
        .expect("run onsale operator add");
    let printed = String::from_utf8_lossy(&added.stdout);
    assert!(added.status.success(), "operator add failed: {printed}");
    let password = printed
        .split("one-time password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the one-time password is printed")
        .to_string();
    let run = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("console.mjs")
        .args([&dev.edge, &dev.coordinator, "door.lead", &password])
        .output()
        .await
        .expect("run node");
    finish(dev, run);
}

/// Prints what the browser script said, stops `onsale dev` and fails on a failed check.
fn finish(dev: Dev, run: std::process::Output) {
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{output}");
    drop(dev.process);
    assert!(run.status.success(), "the browser checks failed:\n{output}");
}
