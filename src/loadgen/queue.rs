//! `onsale loadgen queue`: many people join one event's waiting room at once.
//!
//! Over HTTP (the default) it signs up `--users` people on a running coordinator, has
//! them all join the queue, then looks up positions by ticket. `--in-process` joins
//! through the coordinator library on an embedded fjall store in this process instead
//! (made-up user ids, no sign-ups), up to millions of people, and reports at each
//! checkpoint the store's bytes on disk per queued person and the time of a position
//! look-up, which must not grow with the queue.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::future::join_all;
use hdrhistogram::Histogram;
use onsale_coordinator::clock::SystemClock;
use onsale_coordinator::{Coordinator, Settings};
use onsale_model::{
    Actor, EventDetails, NewEvent, QueueState, QueueStatus, RowSpec, SeatMapSpec, SectionSpec,
    WaitingRoomSettings,
};
use onsale_store::RetryPolicy;
use rand::Rng;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Flags of `onsale loadgen queue`.
#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// The coordinator (over HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Operator token, to create the event and switch its waiting room on (over HTTP).
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: Option<String>,
    /// People who join the queue.
    #[arg(long, default_value_t = 2000)]
    users: u64,
    /// Joins in flight at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Position look-ups timed (of random people in the queue), per checkpoint.
    #[arg(long, default_value_t = 10_000)]
    lookups: usize,
    /// Join through the coordinator library on an embedded fjall store in this process
    /// (no HTTP, no sign-ups) and measure the store's bytes per queued person.
    #[arg(long)]
    in_process: bool,
    /// Folder of the in-process store (default: a fresh temporary folder, removed after).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Runs the scenario and prints its table.
pub async fn run(args: QueueArgs) -> anyhow::Result<()> {
    ensure!(args.users > 0, "--users must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    if args.in_process {
        in_process(&args).await
    } else {
        over_http(&args).await
    }
}

/// Settings that keep everyone queued while the benchmark runs: one admission, ever.
fn hold_everyone() -> WaitingRoomSettings {
    WaitingRoomSettings {
        enabled: true,
        total_active_users: 1,
        new_users_per_minute: 1,
        session_duration_seconds: 86_400,
        shuffle_before: None,
        auto_threshold: None,
    }
}

fn event() -> NewEvent {
    NewEvent {
        details: EventDetails {
            name: "Loadgen Queue Night".into(),
            category: "concert".into(),
            description: "Created by onsale loadgen queue.".into(),
            performers: vec!["The Load Generators".into()],
            venue: "Benchmark Arena".into(),
            city: "Localhost".into(),
            starts_at: time::OffsetDateTime::now_utc() + time::Duration::days(30),
            image_url: String::new(),
            currency: "EUR".into(),
            time_zone: None,
            max_seats_per_account: None,
            published: None,
        },
        seat_map: SeatMapSpec {
            sections: vec![SectionSpec {
                id: "A".into(),
                name: "Arena".into(),
                price: 5_000,
                rows: vec![RowSpec {
                    name: "1".into(),
                    seats: 100,
                    price: None,
                }],
                position: None,
            }],
        },
    }
}

/// One row of the in-process table.
struct Checkpoint {
    queued: u64,
    joins_per_second: f64,
    join: Histogram<u64>,
    lookup: Histogram<u64>,
    bytes: u64,
    rss: Option<u64>,
}

async fn in_process(args: &QueueArgs) -> anyhow::Result<()> {
    let (folder, temporary) = match &args.data {
        Some(folder) => (folder.clone(), false),
        None => (
            std::env::temp_dir().join(format!("onsale-queue-{:016x}", rand::rng().random::<u64>())),
            true,
        ),
    };
    let result = in_process_at(args, &folder).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&folder);
    }
    result
}

async fn in_process_at(args: &QueueArgs, folder: &Path) -> anyhow::Result<()> {
    let address = format!("fjall:{}", folder.display());
    let store = onsale_store::open(&address, RetryPolicy::default())
        .await
        .with_context(|| format!("opening {address}"))?;
    let coordinator = Coordinator::new(store, Arc::new(SystemClock), Settings::default()).await?;
    let event_id = coordinator
        .events()
        .create_event(event(), &Actor::command_line())
        .await?
        .id;
    coordinator
        .waiting_rooms()
        .configure_waiting_room(event_id, hold_everyone(), &Actor::command_line())
        .await?;
    let base_bytes = folder_bytes(folder);
    let base_rss = rss_bytes();

    let mut checkpoints = Vec::new();
    let mut marks: Vec<u64> = [10_000, 100_000, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|&mark| mark < args.users)
        .collect();
    marks.push(args.users);
    let next = Arc::new(AtomicU64::new(0));
    let salt: u128 = rand::rng().random::<u128>() & !u128::from(u64::MAX);
    let user = move |i: u64| Uuid::from_u128(salt | u128::from(i));
    let mut joined = 0;
    for mark in marks {
        let started = Instant::now();
        let workers = (0..args.concurrency).map(|_| {
            let (coordinator, next) = (coordinator.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Histogram::<u64>::new(3)?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= mark {
                        return anyhow::Ok(latencies);
                    }
                    let sent = Instant::now();
                    let joined = coordinator
                        .waiting_rooms()
                        .join_queue(user(i), event_id)
                        .await?;
                    latencies.record(sent.elapsed().as_micros() as u64)?;
                    ensure!(joined.new, "user {i} joined twice");
                }
            })
        });
        let mut join = Histogram::<u64>::new(3)?;
        for worker in join_all(workers).await {
            join.add(worker.context("join worker")??)?;
        }
        let elapsed = started.elapsed();
        next.store(mark, Ordering::Relaxed);
        let lookup = lookups(&coordinator, event_id, mark, args.lookups, &user).await?;
        checkpoints.push(Checkpoint {
            queued: mark,
            joins_per_second: (mark - joined) as f64 / elapsed.as_secs_f64(),
            join,
            lookup,
            bytes: folder_bytes(folder).saturating_sub(base_bytes),
            rss: rss_bytes()
                .zip(base_rss)
                .map(|(now, base)| now.saturating_sub(base)),
        });
        joined = mark;
    }
    let room = coordinator.waiting_rooms().waiting_room(event_id).await?;
    ensure!(
        room.queued == args.users,
        "the room counts {} queued, not {}",
        room.queued,
        args.users
    );

    println!();
    println!(
        "onsale loadgen queue --in-process: {} people join one event's queue, {} joins in flight, fjall store (durable commits) in {}",
        args.users,
        args.concurrency,
        folder.display()
    );
    println!();
    println!(
        "| queued | joins/s (since last row) | join p50 | join p99 | position look-up p50 | look-up p99 | store on disk | bytes per queued person | process RSS growth |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for c in &checkpoints {
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {:.1} MB | {:.0} | {} |",
            c.queued,
            c.joins_per_second,
            micros(c.join.value_at_quantile(0.5)),
            micros(c.join.value_at_quantile(0.99)),
            micros(c.lookup.value_at_quantile(0.5)),
            micros(c.lookup.value_at_quantile(0.99)),
            c.bytes as f64 / 1e6,
            c.bytes as f64 / c.queued as f64,
            c.rss
                .map_or_else(|| "n/a".into(), |rss| format!("{:.0} MB", rss as f64 / 1e6)),
        );
    }
    println!();
    println!(
        "A join is its batched write plus the position read that answers it. Look-ups ask \
         random queued people for their position (three point reads). Disk is the store \
         folder's allocated blocks: tables and fjall's journal, which holds every write \
         until its memtable is flushed into a table."
    );
    Ok(())
}

/// Times `count` position look-ups of random people among the first `queued`.
async fn lookups(
    coordinator: &Coordinator,
    event_id: u64,
    queued: u64,
    count: usize,
    user: &impl Fn(u64) -> Uuid,
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new(3)?;
    for _ in 0..count {
        let i = rand::rng().random_range(0..queued);
        let sent = Instant::now();
        let status = coordinator
            .waiting_rooms()
            .queue_status(user(i), event_id)
            .await?;
        latencies.record(sent.elapsed().as_micros() as u64)?;
        ensure!(
            status.state != QueueState::Queued
                || status.position.is_some_and(|p| (1..=queued).contains(&p)),
            "user {i} has position {:?} in a queue of {queued}",
            status.position
        );
    }
    Ok(latencies)
}

async fn over_http(args: &QueueArgs) -> anyhow::Result<()> {
    let token = args
        .operator_token
        .clone()
        .context("over HTTP, --operator-token (or ONSALE_OPERATOR_TOKEN) is needed")?;
    let base = args.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let setup = Instant::now();
    let created = client
        .post(format!("{base}/v1/operator/events"))
        .bearer_auth(&token)
        .json(&event())
        .send()
        .await
        .context("is the coordinator running?")?
        .error_for_status()
        .context("creating the event")?;
    let event_id = created.json::<serde_json::Value>().await?["id"]
        .as_u64()
        .context("event id")?;
    client
        .put(format!("{base}/v1/operator/events/{event_id}/waiting-room"))
        .bearer_auth(&token)
        .json(&hold_everyone())
        .send()
        .await?
        .error_for_status()
        .context("switching the waiting room on")?;
    let sessions = sign_up(&client, &base, args.users).await?;
    let setup_time = setup.elapsed();

    let gate = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let joins = join_all(sessions.iter().map(|session| {
        let (client, gate, base) = (client.clone(), gate.clone(), base.clone());
        async move {
            let _permit = gate.acquire().await?;
            let sent = Instant::now();
            let response = client
                .post(format!("{base}/v1/events/{event_id}/queue"))
                .bearer_auth(session)
                .send()
                .await?;
            let status = response.status();
            ensure!(status.as_u16() == 201, "join answered {status}");
            let joined: QueueStatus = response.json().await?;
            anyhow::Ok((sent.elapsed(), joined.ticket))
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let mut join = Histogram::<u64>::new(3)?;
    let mut tickets = Vec::with_capacity(joins.len());
    for outcome in joins {
        let (latency, ticket) = outcome?;
        join.record(latency.as_micros() as u64)?;
        tickets.push(ticket);
    }

    let mut lookup = Histogram::<u64>::new(3)?;
    for _ in 0..args.lookups.min(tickets.len() * 10) {
        let ticket = &tickets[rand::rng().random_range(0..tickets.len())];
        let sent = Instant::now();
        client
            .get(format!("{base}/v1/events/{event_id}/queue"))
            .query(&[("ticket", ticket)])
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        lookup.record(sent.elapsed().as_micros() as u64)?;
    }

    println!();
    println!(
        "onsale loadgen queue: {} people join event {event_id}'s queue on {base}, {} joins in flight",
        args.users, args.concurrency
    );
    println!(
        "setup (event, waiting room, {} sign-ups and log-ins): {:.1} s",
        args.users,
        setup_time.as_secs_f64()
    );
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| joins per second | {:.0} |",
        tickets.len() as f64 / elapsed.as_secs_f64()
    );
    println!("| join p50 | {} |", micros(join.value_at_quantile(0.5)));
    println!("| join p99 | {} |", micros(join.value_at_quantile(0.99)));
    println!("| position look-ups (GET ?ticket=) | {} |", lookup.len());
    println!(
        "| look-up p50 | {} |",
        micros(lookup.value_at_quantile(0.5))
    );
    println!(
        "| look-up p99 | {} |",
        micros(lookup.value_at_quantile(0.99))
    );
    Ok(())
}

/// Signs up and logs in `users` people; returns their bearer tokens.
async fn sign_up(client: &reqwest::Client, base: &str, users: u64) -> anyhow::Result<Vec<String>> {
    let run: u32 = rand::rng().random();
    let gate = Arc::new(Semaphore::new(16));
    let sessions = join_all((0..users).map(|i| {
        let (client, gate) = (client.clone(), gate.clone());
        async move {
            let _permit = gate.acquire().await?;
            let username = format!("lq{run:08x}_{i}");
            super::sign_up_and_log_in(
                &client,
                base,
                &username,
                (u64::from(run) * 100_000 + i) % 10_000_000_000,
            )
            .await
        }
    }))
    .await;
    sessions.into_iter().collect()
}

fn micros(value: u64) -> String {
    if value >= 1000 {
        format!("{:.2} ms", value as f64 / 1000.0)
    } else {
        format!("{value} µs")
    }
}

/// Disk space taken by every file under `folder`: allocated blocks, not lengths, since
/// fjall's journal is a preallocated (sparse) 64 MiB file from the start.
fn folder_bytes(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => folder_bytes(&entry.path()),
            Ok(meta) => allocated(&meta),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(unix)]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

/// This process's resident memory, where the platform says (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
