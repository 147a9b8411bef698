//! `onsale loadgen catalogue` publishes a folder an edge serves on its own, with regions
//! beside it: the edge's benchmarks run on a generated catalogue without a coordinator.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::{ONSALE, Process, start};

/// An edge with no coordinator serving the folder at `out`, with `more` flags.
fn edge(out: &Path, more: &[&str]) -> Process {
    let mut args = vec![
        "edge",
        "--coordinator",
        "http://127.0.0.1:9",
        "--snapshots",
        out.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--refresh",
        "50ms",
    ];
    args.extend(more);
    start(&args, true)
}

/// The first successful answer to `GET url` within 5 s (the edge loads its snapshot).
async fn once_loaded(http: &reqwest::Client, url: &str) -> reqwest::Response {
    for _ in 0..100 {
        let answer = http.get(url).send().await.unwrap();
        if answer.status() == 200 {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} never answered 200");
}

async fn json(http: &reqwest::Client, url: &str) -> Value {
    once_loaded(http, url).await.json().await.unwrap()
}

#[tokio::test]
async fn a_generated_catalogue_is_served_by_an_edge_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("catalogue");
    let made = Command::new(ONSALE)
        .args(["loadgen", "catalogue", "--events", "500"])
        .args(["--region", "europe=Berlin,Paris", "--region", "rest=*"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run onsale loadgen catalogue");
    assert!(made.status.success(), "{made:?}");
    let table = String::from_utf8_lossy(&made.stdout);
    for row in ["| (every event) | 500 |", "| europe |", "| rest |"] {
        assert!(table.contains(row), "{row}: {table}");
    }

    let http = reqwest::Client::new();
    let every = edge(&out, &[]);
    let page = json(&http, &format!("{}/v1/events?page_size=5", every.url)).await;
    assert_eq!(page["total"], 500, "{page}");
    let found = json(&http, &format!("{}/v1/search?q=berlin", every.url)).await;
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");

    // An edge of one region: its pages show that region, the API every event.
    let europe = edge(&out, &["--region", "europe"]);
    let home = once_loaded(&http, &format!("{}/", europe.url)).await;
    let home = home.text().await.unwrap();
    assert!(home.contains("Upcoming events in Europe"), "{home}");
    let url = format!("{}/v1/events?region=europe&page_size=100", europe.url);
    let in_europe = json(&http, &url).await;
    let items = in_europe["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{in_europe}");
    let european = |event: &Value| event["city"] == "Berlin" || event["city"] == "Paris";
    assert!(items.iter().all(european), "{in_europe}");
    let page = json(&http, &format!("{}/v1/events?page_size=5", europe.url)).await;
    assert_eq!(page["total"], 500, "{page}");
}
