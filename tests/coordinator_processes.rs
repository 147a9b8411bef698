//! Whole processes: `onsale coordinator` started as an operator would, driven by
//! `onsale loadgen holds`, which checks the seat map against every answer it got.

mod common;

use std::process::{Command, Output};

use common::{ONSALE, OPERATOR_TOKEN, start_coordinator};

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

#[test]
fn two_coordinators_share_postgres() {
    let admin = std::env::var("ONSALE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let name = format!("onsale_test_{}", uuid::Uuid::new_v4().simple());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let admin_sql = |sql: String| {
        runtime.block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL must be running at {admin}: {e}"));
            tokio::spawn(conn);
            client.batch_execute(&sql).await.expect(&sql);
        })
    };
    admin_sql(format!("CREATE DATABASE {name}"));
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let store = format!("{base}/{name}");
    {
        let first = start_coordinator(&store);
        let second = start_coordinator(&store);
        // Buyers alternate between the coordinators for sign-up, holds and checks.
        assert_storm_was_safe(&loadgen(&[&first.url, &second.url], 100));
    }
    admin_sql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
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
