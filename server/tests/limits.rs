//! The limits through the front door: real sockets against `onsale_server::serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use onsale_server::{Limits, Settings, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// Bound on any wait for something the server must do; only stops a broken test from
/// hanging, never measures anything.
const PATIENCE: Duration = Duration::from_secs(30);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Begins shutdown and waits until `serve` returns.
    async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        tokio::time::timeout(PATIENCE, self.done)
            .await
            .expect("serve returns")
            .expect("task")
            .expect("serve");
    }
}

async fn start(router: Router, limits: Limits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel();
    let settings = Settings {
        name: "test",
        limits,
        tls: None,
    };
    let done = tokio::spawn(serve(listener, router, settings, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        done,
    }
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "hello" })).route(
        "/whoami",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    )
}

fn short(header: Duration, idle: Duration) -> Limits {
    Limits {
        header_timeout: header,
        idle_timeout: idle,
        ..Limits::default()
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    received
}

async fn get_ok(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.expect("an answer");
    assert_eq!(response.status(), 200);
    response.text().await.expect("body")
}

#[tokio::test]
async fn a_slow_or_silent_client_is_cut_off_while_others_are_served() {
    let server = start(
        hello(),
        short(Duration::from_millis(300), Duration::from_secs(60)),
    )
    .await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("half the headers");
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    // A new connection per request: a pooled one sits idle past the 300 ms header clock
    // while the slow clients are cut off, and the server may close it just as it is
    // reused (a race of the test's client, not a refusal of the server).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    assert_eq!(get_ok(&client, &server.url("/")).await, "hello");
    let answered = until_closed(&mut slow).await;
    assert!(
        !String::from_utf8_lossy(&answered).contains("hello"),
        "the slow request was not served"
    );
    assert!(until_closed(&mut silent).await.is_empty());
    assert_eq!(get_ok(&client, &server.url("/")).await, "hello");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = start(
        hello(),
        short(Duration::from_secs(60), Duration::from_millis(300)),
    )
    .await;
    let mut raw = TcpStream::connect(server.addr).await.expect("connect");
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("a whole request");
    // Answered, then kept alive (the header clock, at 60 s, is not what closes it).
    let answered = until_closed(&mut raw).await;
    assert!(String::from_utf8_lossy(&answered).contains("hello"));
    assert_eq!(
        get_ok(&reqwest::Client::new(), &server.url("/")).await,
        "hello"
    );
    server.stop().await;
}

#[tokio::test]
async fn at_the_cap_extras_are_closed_and_freed_slots_serve_again() {
    let server = start(
        hello(),
        Limits {
            max_connections: 2,
            ..Limits::default()
        },
    )
    .await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    // The second holds its slot once it has been answered.
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(PATIENCE, second.read(&mut buf))
        .await
        .expect("an answer")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("hello"));
    let mut extra = TcpStream::connect(server.addr).await.expect("connect");
    let _ = extra.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        until_closed(&mut extra).await.is_empty(),
        "closed unanswered"
    );
    drop(first);
    let client = reqwest::Client::new();
    let answered = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(response) = client.get(server.url("/")).send().await {
                break response.text().await.expect("body");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a freed slot serves again");
    assert_eq!(answered, "hello");
    drop(second);
    server.stop().await;
}

#[tokio::test]
async fn routers_see_the_clients_address() {
    let server = start(hello(), Limits::default()).await;
    let peer = get_ok(&reqwest::Client::new(), &server.url("/whoami")).await;
    let peer: SocketAddr = peer.parse().expect("an address");
    assert!(peer.ip().is_loopback());
    assert_ne!(peer.port(), server.addr.port());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish_and_stops_accepting() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let router = Router::new().route(
        "/slow",
        get({
            let entered = entered.clone();
            let release = release.clone();
            move || async move {
                entered.notify_one();
                release.notified().await;
                "finished"
            }
        }),
    );
    let server = start(router, Limits::default()).await;
    let url = server.url("/slow");
    let addr = server.addr;
    let request = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    entered.notified().await;
    let stopping = tokio::spawn(server.stop());
    // Shutdown has begun once the listener is gone.
    tokio::time::timeout(PATIENCE, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the listener closes");
    release.notify_one();
    let body = request.await.expect("task").expect("the request finishes");
    assert_eq!(body, "finished");
    stopping.await.expect("serve returns after the drain");
}
