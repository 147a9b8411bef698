//! A coordinator process under a 1,024 file-descriptor limit (`prlimit`) faced with 1,100
//! idle connections: it refuses what does not fit instead of running out of descriptors,
//! cuts the idle ones off at the header timeout, and answers again.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ONSALE, OPERATOR_TOKEN, Process};

/// Idle connections opened against the server.
const IDLE: usize = 1_100;

/// Starts `onsale coordinator` on a fjall store with at most 1,024 open files; `None`
/// where `prlimit` is missing.
fn coordinator_with_1024_files(store: &str) -> Option<Process> {
    if Command::new("prlimit").arg("--version").output().is_err() {
        println!("skipped: prlimit (util-linux) is not installed");
        return None;
    }
    let mut child = Command::new("prlimit")
        .args([
            "--nofile=1024:1024",
            "--",
            ONSALE,
            "coordinator",
            "--store",
            store,
        ])
        .args(["--listen", "127.0.0.1:0", "--header-timeout", "2s"])
        .env("ONSALE_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start onsale under prlimit");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("the first line");
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let mut process = Process::adopt(child);
    process.url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Some(process)
}

#[tokio::test]
async fn idle_connections_beyond_the_descriptor_limit_do_not_take_the_server_offline() {
    // This test's own process holds 1,100 sockets.
    onsale_server::raise_open_file_limit();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("fjall:{}", dir.path().display());
    let Some(mut coordinator) = coordinator_with_1024_files(&store) else {
        return;
    };
    let address = coordinator.url.trim_start_matches("http://").to_string();
    let health = format!("{}/healthz", coordinator.url);
    let client = reqwest::Client::new();
    let before = client.get(&health).send().await.expect("answers");
    assert_eq!(before.status(), 200);

    let mut idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(&address).expect("the kernel accepts the connection"))
        .collect();

    // Every idle connection is closed by the server: the ones over the cap at once, the
    // others at the header timeout. (The read timeout only keeps a broken server from
    // hanging the test.)
    for (i, stream) in idle.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Ok(0) => {}
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("idle connection {i} was not closed by the server: {other:?}"),
        }
    }
    assert!(
        coordinator.exited().is_none(),
        "the coordinator is still up"
    );
    // A new connection: the first one was closed as idle while this test blocked.
    let answer = reqwest::Client::new()
        .get(&health)
        .send()
        .await
        .expect("the coordinator answers");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "ok");
}
