//! Whole processes: `onsale coordinator` started as an operator would, driven by
//! `onsale loadgen holds` and `onsale loadgen bookings`, which check the seat map (and
//! every booking) against every answer they got.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output};

use common::{ONSALE, OPERATOR_TOKEN, start, start_coordinator};

fn loadgen(urls: &[&str], buyers: usize) -> Output {
    let mut command = Command::new(ONSALE);
    command.args(["loadgen", "holds", "--operator-token", OPERATOR_TOKEN]);
    for url in urls {
        command.args(["--url", url]);
    }
    command
        .args(["--buyers", &buyers.to_string()])
        .args([
            "--seats",
            "300",
            "--holds-per-buyer",
            "20",
            "--release",
            "0.3",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run onsale loadgen")
}

/// The value of a `| metric | value |` row of the loadgen table.
fn metric(table: &str, name: &str) -> u64 {
    table
        .lines()
        .find_map(|line| line.strip_prefix(&format!("| {name} | ")))
        .and_then(|rest| rest.trim_end_matches(" |").split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name:?} in:\n{table}"))
}

fn assert_storm_was_safe(output: &Output) {
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "loadgen failed:\n{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(metric(&table, "holds placed") > 50, "{table}");
    assert!(
        metric(&table, "refused: seat unavailable (409)") > 50,
        "{table}"
    );
    assert_eq!(metric(&table, "other errors"), 0, "{table}");
    assert_eq!(metric(&table, "seats double-held"), 0, "{table}");
    assert_eq!(
        metric(&table, "live-hold seats not shown held"),
        0,
        "{table}"
    );
    assert_eq!(
        metric(&table, "seats held without a live hold"),
        0,
        "{table}"
    );
    assert_eq!(
        metric(&table, "live holds not found by their owner"),
        0,
        "{table}"
    );
}

#[test]
fn one_coordinator_on_fjall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let coordinator = start_coordinator(&format!("fjall:{}", dir.path().display()));
    assert_storm_was_safe(&loadgen(&[&coordinator.url], 100));
}

/// `onsale loadgen bookings` (16 buyers, 10 pending bookings each, on 400 seats) against
/// `urls`: every booking made, none of a seat twice, each found pending by its buyer.
fn assert_bookings_were_safe(urls: &[&str]) {
    let mut command = Command::new(ONSALE);
    command.args(["loadgen", "bookings", "--operator-token", OPERATOR_TOKEN]);
    for url in urls {
        command.args(["--url", url]);
    }
    let output = command
        .args([
            "--buyers",
            "16",
            "--bookings-per-buyer",
            "10",
            "--seats",
            "400",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run onsale loadgen bookings");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "loadgen failed:\n{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(metric(&table, "pending bookings"), 160, "{table}");
    for zero in [
        "other errors",
        "seats booked twice",
        "bookings not found pending with their seat by their buyer",
        "booked seats shown available",
        "seats taken without a booking or a hold",
    ] {
        assert_eq!(metric(&table, zero), 0, "{zero}: {table}");
    }
}

#[test]
fn pending_bookings_on_fjall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let coordinator = start(
        &[
            "coordinator",
            "--store",
            &format!("fjall:{}", dir.path().display()),
            "--listen",
            "127.0.0.1:0",
            "--payments-sandbox",
            "127.0.0.1:0",
        ],
        true,
    );
    assert_bookings_were_safe(&[&coordinator.url]);
}

/// A PostgreSQL database of its own for one test, dropped (with its sessions) at the end.
struct ProcessDb {
    url: String,
    name: String,
}

impl ProcessDb {
    fn admin_url() -> String {
        std::env::var("ONSALE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
    }

    fn sql(sql: &str) {
        let admin = Self::admin_url();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL must be running at {admin}: {e}"));
            tokio::spawn(conn);
            client.batch_execute(sql).await.expect(sql);
        });
    }

    fn create() -> ProcessDb {
        let name = format!("onsale_test_{}", uuid::Uuid::new_v4().simple());
        Self::sql(&format!("CREATE DATABASE {name}"));
        let admin = Self::admin_url();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        ProcessDb {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for ProcessDb {
    fn drop(&mut self) {
        Self::sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

#[test]
fn two_coordinators_share_postgres() {
    let db = ProcessDb::create();
    let first = start_coordinator(&db.url);
    let second = start_coordinator(&db.url);
    // Buyers alternate between the coordinators for sign-up, holds and checks.
    assert_storm_was_safe(&loadgen(&[&first.url, &second.url], 100));
}

#[test]
fn pending_bookings_through_two_coordinators_on_postgres() {
    let db = ProcessDb::create();
    let coordinator = || {
        start(
            &[
                "coordinator",
                "--store",
                &db.url,
                "--listen",
                "127.0.0.1:0",
                "--payments-sandbox",
                "127.0.0.1:0",
            ],
            true,
        )
    };
    let (first, second) = (coordinator(), coordinator());
    assert_bookings_were_safe(&[&first.url, &second.url]);
}

/// Two coordinators on one PostgreSQL database under a hold storm; one is killed with
/// SIGKILL mid-run and started again on its address. Buyers whose request met the crash
/// send it again (same Idempotency-Key) to the other coordinator; afterwards no seat is
/// held twice and every hold a buyer was told about is in the store.
#[test]
fn a_coordinator_killed_mid_storm_loses_no_hold() {
    let db = ProcessDb::create();
    let first = start_coordinator(&db.url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let coordinator = |listen: &str| {
        common::start(
            &["coordinator", "--store", &db.url, "--listen", listen],
            true,
        )
    };
    let mut second = coordinator(&listen);
    let mut command = Command::new(ONSALE);
    command
        .args(["loadgen", "holds", "--operator-token", OPERATOR_TOKEN])
        .args(["--url", &first.url, "--url", &second.url])
        .args([
            "--buyers",
            "100",
            "--seats",
            "2000",
            "--holds-per-buyer",
            "30",
        ])
        .args(["--release", "0.3"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut loadgen = command.spawn().expect("run onsale loadgen");
    let mut stdout = BufReader::new(loadgen.stdout.take().expect("stdout"));
    let mut table = String::new();
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("loadgen output");
        assert!(read > 0, "loadgen ended before holding:\n{table}");
        table.push_str(&line);
        if line.starts_with("holding:") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    second.kill();
    second = coordinator(&listen);
    stdout.read_to_string(&mut table).expect("loadgen output");
    let output = loadgen.wait_with_output().expect("loadgen ends");
    let output = Output {
        stdout: table.clone().into_bytes(),
        ..output
    };
    assert_storm_was_safe(&output);
    assert!(
        metric(&table, "transport errors (sent again)") > 0,
        "the kill met no request:\n{table}"
    );
    let _ = writeln!(std::io::stderr(), "{table}");
    drop((first, second));
}

#[test]
fn import_into_a_store_and_through_a_running_coordinator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.json");
    let event = |name: &str| {
        serde_json::json!({
            "name": name, "category": "theatre", "venue": "Old Vic", "city": "London",
            "starts_at": "2027-05-01T19:30:00Z", "currency": "GBP",
            "performers": ["The Company"],
            "seat_map": {"sections": [{"id": "STL", "name": "Stalls", "price": 4500,
                "rows": [{"name": "A", "seats": 10}, {"name": "B", "seats": 12, "price": 3500}]}]}
        })
    };
    std::fs::write(
        &file,
        serde_json::to_string(&[event("Hamlet"), event("Macbeth")]).unwrap(),
    )
    .unwrap();
    let store = format!("fjall:{}", dir.path().join("store").display());
    let imported = Command::new(ONSALE)
        .args(["import", file.to_str().unwrap(), "--store", &store])
        .output()
        .expect("run import");
    let out = String::from_utf8_lossy(&imported.stdout);
    assert!(
        imported.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(out.contains("imported 2 events"), "{out}");

    let coordinator = start_coordinator(&store);
    let via_http = Command::new(ONSALE)
        .args(["import", file.to_str().unwrap(), "--url", &coordinator.url])
        .args(["--operator-token", OPERATOR_TOKEN])
        .output()
        .expect("run import --url");
    assert!(
        via_http.status.success(),
        "{}",
        String::from_utf8_lossy(&via_http.stderr)
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let page: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{}/v1/events?page_size=10", coordinator.url))
            .await
            .expect("list events")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(page["total"], 4);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hamlet", "Macbeth", "Hamlet", "Macbeth"]);
    assert_eq!(page["items"][0]["price_min"], 3500);
    assert_eq!(page["items"][0]["seat_count"], 22);
}

/// A store sealed at rest (`--seal-key`) is written by `onsale import` and served by a
/// coordinator with the key; without the key a coordinator refuses to start on it.
#[test]
fn a_sealed_store_opens_only_with_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = Command::new(ONSALE)
        .arg("seal-key")
        .output()
        .expect("seal-key");
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    assert_eq!(key.len(), 43, "a base64url key: {key:?}");
    let file = dir.path().join("events.json");
    std::fs::write(
        &file,
        serde_json::json!([{"name": "Sealed Gala", "category": "opera", "venue": "La Scala",
            "city": "Milan", "starts_at": "2027-06-01T19:00:00Z", "currency": "EUR",
            "seat_map": {"sections": [{"id": "P", "name": "Platea", "price": 9000,
                "rows": [{"name": "A", "seats": 4}]}]}}])
        .to_string(),
    )
    .unwrap();
    let store = format!("fjall:{}", dir.path().join("store").display());
    let imported = Command::new(ONSALE)
        .args(["import", file.to_str().unwrap(), "--store", &store])
        .env("ONSALE_SEAL_KEY", &key)
        .output()
        .expect("run import");
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let sealed_flag = format!("--seal-key={key}");
    let mut coordinator = common::start(
        &[
            "coordinator",
            "--store",
            &store,
            "--listen",
            "127.0.0.1:0",
            &sealed_flag,
        ],
        true,
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let page: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{}/v1/events", coordinator.url))
            .await
            .expect("list events")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(page["items"][0]["name"], "Sealed Gala");
    coordinator.kill();

    let mut keyless = Command::new(ONSALE)
        .args(["coordinator", "--store", &store, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a coordinator without the key");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = keyless.try_wait().expect("wait") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = keyless.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        status.is_some_and(|s| !s.success()),
        "a coordinator without the seal key must refuse the sealed store ({status:?})"
    );
}

/// A payment's webhook is recorded and queued, the coordinator dies before settling it,
/// and the next start finishes the booking from the durable queue.
#[test]
fn a_queued_payment_outcome_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("fjall:{}", dir.path().display());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let http = reqwest::Client::new();
    let mut first = common::start(
        &[
            "coordinator",
            "--store",
            &store,
            "--listen",
            "127.0.0.1:0",
            "--payments-sandbox",
            "127.0.0.1:0",
            "--task-worker",
            "false",
        ],
        true,
    );
    let (token, booking_id) = runtime.block_on(async {
        let url = &first.url;
        let event: serde_json::Value = http
            .post(format!("{url}/v1/operator/events"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&serde_json::json!({"name": "Restart Show", "category": "concert", "venue": "V",
                "city": "C", "starts_at": "2027-01-01T20:00:00Z", "currency": "EUR",
                "seat_map": {"sections": [{"id": "A", "name": "A", "price": 5000, "rows": [{"name": "1", "seats": 2}]}]}}))
            .send().await.unwrap().json().await.unwrap();
        http.post(format!("{url}/v1/users"))
            .json(&serde_json::json!({"username": "restarter", "email": "r@example.com", "phone": "+15550002222", "password": "correct horse"}))
            .send().await.unwrap().error_for_status().unwrap();
        let session: serde_json::Value = http.post(format!("{url}/v1/sessions"))
            .json(&serde_json::json!({"username": "restarter", "password": "correct horse"}))
            .send().await.unwrap().json().await.unwrap();
        let token = session["token"].as_str().unwrap().to_string();
        let hold: serde_json::Value = http.post(format!("{url}/v1/events/{}/holds", event["id"]))
            .bearer_auth(&token).header("Idempotency-Key", "h")
            .json(&serde_json::json!({"seats": ["A-1-1"]}))
            .send().await.unwrap().json().await.unwrap();
        let checkout: serde_json::Value = http.post(format!("{url}/v1/holds/{}/checkout", hold["hold_id"].as_str().unwrap()))
            .bearer_auth(&token).header("Idempotency-Key", "c")
            .send().await.unwrap().json().await.unwrap();
        let paid = http.post(format!("{}/succeed", checkout["payment_url"].as_str().unwrap()))
            .send().await.unwrap();
        assert_eq!(paid.status(), 200, "the webhook was accepted");
        let booking: serde_json::Value = http.get(format!("{url}/v1/bookings/{}", checkout["booking_id"].as_str().unwrap()))
            .bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(booking["status"], "pending", "no worker ran: the outcome waits in the queue");
        (token, checkout["booking_id"].as_str().unwrap().to_string())
    });
    first.kill();

    let second = start_coordinator(&store);
    let booking = runtime.block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let booking: serde_json::Value = http
                .get(format!("{}/v1/bookings/{booking_id}", second.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if booking["status"] == "completed" || std::time::Instant::now() > deadline {
                return booking;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    assert_eq!(booking["status"], "completed", "{booking}");
    assert_eq!(booking["tickets"].as_array().unwrap().len(), 1);
}
