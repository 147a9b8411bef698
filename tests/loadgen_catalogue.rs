//! `onsale loadgen catalogue` publishes a folder an edge serves on its own, with regions
//! beside it: the edge's benchmarks run on a generated catalogue without a coordinator.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{ONSALE, start};

#[tokio::test]
async fn a_generated_catalogue_is_served_by_an_edge_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("catalogue");
    let made = Command::new(ONSALE)
        .args(["loadgen", "catalogue", "--events", "500"])
        .args([
            "--region",
            "europe=Berlin,Paris",
            "--region",
            "rest=*",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run onsale loadgen catalogue");
    assert!(made.status.success(), "{made:?}");
    let table = String::from_utf8_lossy(&made.stdout);
    for row in ["| (every event) | 500 |", "| europe |", "| rest |"] {
        assert!(table.contains(row), "{row}: {table}");
    }

    let edge = start(
        &[
            "edge",
            "--coordinator",
            "http://127.0.0.1:9",
            "--snapshots",
            out.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--refresh",
            "50ms",
        ],
        true,
    );
    let http = reqwest::Client::new();
    let mut page = Value::Null;
    for _ in 0..100 {
        let answer = http
            .get(format!("{}/v1/events?page_size=5", edge.url))
            .send()
            .await
            .unwrap();
        if answer.status() == 200 {
            page = answer.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(page["total"], 500, "{page}");
    let found: Value = http
        .get(format!("{}/v1/search?q=berlin", edge.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");

    // An edge of one region: its pages show that region, the API every event.
    let europe = start(
        &[
            "edge",
            "--coordinator",
            "http://127.0.0.1:9",
            "--snapshots",
            out.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--region",
            "europe",
        ],
        true,
    );
    let mut home = String::new();
    for _ in 0..100 {
        let answer = http.get(format!("{}/", europe.url)).send().await.unwrap();
        if answer.status() == 200 {
            home = answer.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(home.contains("Upcoming events in Europe"), "{home}");
    let in_europe: Value = http
        .get(format!(
            "{}/v1/events?region=europe&page_size=100",
            europe.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = in_europe["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{in_europe}");
    assert!(
        items
            .iter()
            .all(|event| event["city"] == "Berlin" || event["city"] == "Paris"),
        "{in_europe}"
    );
    let every: Value = http
        .get(format!("{}/v1/events?page_size=5", europe.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(every["total"], 500, "{every}");
}
