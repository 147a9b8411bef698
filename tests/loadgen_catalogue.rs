//! `onsale loadgen catalogue` publishes a folder an edge serves on its own: the edge's
//! benchmarks run on a generated catalogue without a coordinator.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{ONSALE, start};

#[tokio::test]
async fn a_generated_catalogue_is_served_by_an_edge_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("catalogue");
    let made = Command::new(ONSALE)
        .args(["loadgen", "catalogue", "--events", "500", "--out"])
        .arg(&out)
        .output()
        .expect("run onsale loadgen catalogue");
    assert!(made.status.success(), "{made:?}");
    let table = String::from_utf8_lossy(&made.stdout);
    assert!(table.contains("| version | 1 |"), "{table}");

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
}
