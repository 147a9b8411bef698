//! `onsale loadgen edge`: each of N keep-alive connections sends GETs of one path as fast
//! as the server answers, for a fixed time; the table gives requests per second and
//! latency per path. The client is a minimal HTTP/1.1 reader (Content-Length bodies only)
//! so that it costs the shared CPU as little as possible; point it at nginx serving the
//! same bytes to compare.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Flags of `onsale loadgen edge`.
#[derive(Debug, clap::Args)]
pub struct EdgeArgs {
    /// Server base URL (plain http).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Path to request; repeat for several, each measured on its own.
    #[arg(long = "path", default_values_t = ["/events/1".to_string(), "/v1/search?q=aurora".to_string()])]
    paths: Vec<String>,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to load each path.
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse_duration)]
    duration: Duration,
}

/// Loads each path in turn and prints one table.
pub async fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let authority = args
        .url
        .strip_prefix("http://")
        .context("--url must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_string();
    println!(
        "onsale loadgen edge: {} connections, {:?} per path, {}",
        args.connections, args.duration, args.url
    );
    println!();
    println!("| path | bytes | requests/s | p50 | p99 | max | errors |");
    println!("|---|---|---|---|---|---|---|");
    for path in &args.paths {
        let deadline = Instant::now() + args.duration;
        let started = Instant::now();
        let workers: Vec<_> = (0..args.connections)
            .map(|_| {
                let (authority, path) = (authority.clone(), path.clone());
                tokio::spawn(async move { connection(&authority, &path, deadline).await })
            })
            .collect();
        let mut latencies = Histogram::<u64>::new(3)?;
        let (mut errors, mut bytes) = (0u64, 0usize);
        for worker in workers {
            match worker.await? {
                Ok(report) => {
                    latencies.add(&report.latencies)?;
                    bytes = report.body_bytes;
                }
                Err(err) => {
                    errors += 1;
                    tracing::warn!(error = %format!("{err:#}"), "connection failed");
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let us = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "| `{path}` | {bytes} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {errors} |",
            latencies.len() as f64 / secs,
            us(0.5),
            us(0.99),
            latencies.max() as f64 / 1000.0,
        );
    }
    Ok(())
}

struct ConnectionReport {
    latencies: Histogram<u64>,
    body_bytes: usize,
}

async fn connection(
    authority: &str,
    path: &str,
    deadline: Instant,
) -> anyhow::Result<ConnectionReport> {
    let mut stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept-Encoding: identity\r\n\r\n");
    let mut latencies = Histogram::<u64>::new(3)?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut body_bytes = 0;
    while Instant::now() < deadline {
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        body_bytes = read_response(&mut stream, &mut buffer).await?;
        latencies.record(sent.elapsed().as_micros() as u64)?;
    }
    Ok(ConnectionReport {
        latencies,
        body_bytes,
    })
}

/// Reads one `200` response with a Content-Length body; returns the body's length.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<usize> {
    buffer.clear();
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        ensure!(n > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buffer[..header_end]).context("response head")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "answer was not 200: {}",
            head.lines().next().unwrap_or_default()
        );
    }
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .context("no Content-Length")?;
    while buffer.len() < header_end + length {
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await?;
        ensure!(n > 0, "connection closed mid-body");
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(length)
}
