//! TLS through the front door: a certificate made by the test, a client that verifies it,
//! HTTP/1.1 and HTTP/2 by ALPN, and HSTS on the answers.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use onsale_server::{Limits, Settings, Tls, serve};
use tokio::net::TcpListener;

struct Certificate {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn certificate() -> Certificate {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    Certificate {
        cert_pem: made.cert.pem(),
        key_pem: made.key_pair.serialize_pem(),
        der: made.cert.der().to_vec(),
    }
}

async fn start(tls: Tls) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = Router::new().route("/", get(|| async { "secret hello" }));
    let settings = Settings {
        name: "test",
        limits: Limits::default(),
        tls: Some(tls),
    };
    tokio::spawn(serve(listener, router, settings, std::future::pending()));
    addr
}

fn client(cert: &Certificate, addr: SocketAddr, http1_only: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(&cert.der).expect("der"))
        .resolve("localhost", addr);
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn serves_http1_and_http2_over_verified_tls_with_hsts() {
    let cert = certificate();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert.cert_pem).expect("write cert");
    std::fs::write(&key_path, &cert.key_pem).expect("write key");
    let tls = Tls::from_pem_files(&cert_path, &key_path).expect("TLS from PEM files");
    let addr = start(tls).await;
    let url = format!("https://localhost:{}/", addr.port());

    for (http1_only, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        let response = client(&cert, addr, http1_only)
            .get(&url)
            .send()
            .await
            .expect("a verified TLS answer");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), version);
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        assert_eq!(response.text().await.expect("body"), "secret hello");
    }

    let other = certificate();
    let refused = client(&other, addr, false).get(&url).send().await;
    assert!(
        refused.is_err(),
        "a client that does not trust the certificate refuses it"
    );
}

#[test]
fn bad_files_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    let err = Tls::from_pem_files(&empty, &empty).expect_err("no certificate");
    assert!(err.to_string().contains("certificate"), "{err}");
    let missing = dir.path().join("missing.pem");
    assert!(Tls::from_pem_files(&missing, &missing).is_err());
}
