//! Server settings on real processes: a coordinator under a 1,024 file-descriptor limit
//! (`prlimit`) faced with 1,100 idle connections refuses what does not fit instead of
//! running out of descriptors, cuts the idle ones off at the header timeout, and answers
//! again; `--tls-cert`/`--tls-key` serve verified HTTPS, HTTP/2 included.

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
    let mut command = Command::new("prlimit");
    command
        .args([
            "--nofile=1024:1024",
            "--",
            ONSALE,
            "coordinator",
            "--store",
            store,
        ])
        .args(["--listen", "127.0.0.1:0", "--header-timeout", "2s"]);
    let process = spawn_printing_url(&mut command);
    assert!(process.url.starts_with("http://"), "{:?}", process.url);
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

/// Starts `command` (an `onsale` command) and returns it with the URL it prints last on
/// its first line.
fn spawn_printing_url(command: &mut Command) -> Process {
    let mut child = command
        .env("ONSALE_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("the first line");
    // Keep reading, so that later lines never meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let mut process = Process::adopt(child);
    process.url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    process
}

#[tokio::test]
async fn the_coordinator_serves_verified_https_with_http2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    let store = format!("fjall:{}", dir.path().join("store").display());
    let coordinator = spawn_printing_url(Command::new(ONSALE).args([
        "coordinator",
        "--store",
        &store,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]));
    let address: std::net::SocketAddr = coordinator
        .url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("an https URL, not {:?}", coordinator.url))
        .parse()
        .expect("an address");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(made.cert.der()).expect("der"))
        .resolve("localhost", address)
        .build()
        .expect("client");
    let response = client
        .get(format!("https://localhost:{}/healthz", address.port()))
        .send()
        .await
        .expect("a verified HTTPS answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(response.text().await.unwrap(), "ok");
}
