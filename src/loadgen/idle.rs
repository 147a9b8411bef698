//! `onsale loadgen idle`: opens N keep-alive connections, each sends one request and then
//! stays silent; with all of them open, checks that the server still answers a new
//! client, and (with `--pid`) how much memory the server holds for them. Prints a table.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections opened at once while ramping up (more at once overflow the listen queue).
const RAMP: usize = 256;

/// Flags of `onsale loadgen idle`.
#[derive(Debug, clap::Args)]
pub struct IdleArgs {
    /// Server base URL (plain http).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Idle connections to open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Path each connection asks for once before it goes silent.
    #[arg(long, default_value = "/healthz")]
    path: String,
    /// The server's process id, to read its resident memory before and after.
    #[arg(long)]
    pid: Option<u32>,
}

/// Opens the connections, measures, prints the table, then closes them.
pub async fn run(args: IdleArgs) -> anyhow::Result<()> {
    let authority = args
        .url
        .strip_prefix("http://")
        .context("--url must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_string();
    let rss_before = args.pid.map(resident_bytes).transpose()?;
    let started = Instant::now();
    let mut open = Vec::with_capacity(args.connections);
    let mut refused = 0usize;
    let mut remaining = args.connections;
    while remaining > 0 {
        let batch = remaining.min(RAMP);
        remaining -= batch;
        let opened: Vec<_> = (0..batch)
            .map(|_| {
                let (authority, path) = (authority.clone(), args.path.clone());
                tokio::spawn(async move { open_idle(&authority, &path).await })
            })
            .collect();
        for connection in opened {
            match connection.await? {
                Ok(stream) => open.push(stream),
                Err(_) => refused += 1,
            }
        }
    }
    let ramp = started.elapsed();
    // Let the server settle (freed buffers, finished tasks) before reading its memory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = args.pid.map(resident_bytes).transpose()?;
    let asked = Instant::now();
    let fresh = open_idle(&authority, &args.path).await;
    let fresh_latency = asked.elapsed();
    println!(
        "onsale loadgen idle: {} connections to {} ({} each, then silent)",
        args.connections, args.url, args.path
    );
    println!();
    println!(
        "| idle open | refused | ramp | new client | server RSS before | after | per idle connection |"
    );
    println!("|---|---|---|---|---|---|---|");
    let memory = match (rss_before, rss_after) {
        (Some(before), Some(after)) => {
            let per = after.saturating_sub(before) / (open.len().max(1) as u64);
            format!(
                "{:.1} MiB | {:.1} MiB | {:.1} KiB",
                mib(before),
                mib(after),
                per as f64 / 1024.0
            )
        }
        _ => "- | - | -".to_string(),
    };
    println!(
        "| {} | {} | {:.1} s | {} in {:.1} ms | {memory} |",
        open.len(),
        refused,
        ramp.as_secs_f64(),
        if fresh.is_ok() { "answered" } else { "FAILED" },
        fresh_latency.as_secs_f64() * 1000.0,
    );
    drop(open);
    fresh.context("the server did not answer a new client with the idle ones open")?;
    Ok(())
}

/// Connects, asks for `path` once and reads the whole answer; the connection stays open.
async fn open_idle(authority: &str, path: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(authority).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        ensure!(n > 0, "closed before the answer");
        received.extend_from_slice(&buf[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            ensure!(head.starts_with("http/1.1 200"), "answered {head:?}");
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .context("no content-length")?;
            if received.len() >= end + 4 + length {
                return Ok(stream);
            }
        }
    }
}

/// A process's resident memory (`VmRSS` in `/proc/PID/status`), in bytes.
fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")?;
    Ok(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
