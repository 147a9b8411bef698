//! `onsale loadgen holds`: many buyers hold random runs of adjacent seats in one large event, releasing
//! some of their holds again, then the seat map is checked against what the API said:
//! no seat may be in two live holds, every live hold's seats must show as held, and no
//! seat may be held without a live hold.
//!
//! A coordinator may die and come back during the run (the chaos test kills one): a
//! request that meets a transport error is counted and sent again, as a browser would,
//! with the same `Idempotency-Key` to the next coordinator, so its outcome is still known
//! (a hold committed just before the crash is answered by the replay). A `503` (the store
//! too busy, or unreachable for a moment) is counted and sent again after its
//! `Retry-After`, as the page's script does. The end checks ask whichever coordinator
//! answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::future::join_all;
use hdrhistogram::Histogram;
use onsale_model::{
    EventDetails, Hold, MAX_SEATS_PER_ACCOUNT_LIMIT, NewEvent, RowSpec, SeatMapSpec, SeatStatus,
    SeatsResponse, SectionSpec,
};
use rand::Rng;
use tokio::sync::Semaphore;

/// Flags of `onsale loadgen holds`.
#[derive(Debug, clap::Args)]
pub struct HoldsArgs {
    /// The coordinator; repeat to spread buyers over several coordinators sharing a
    /// store (buyer i talks to URL i mod n).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// Operator token, to create the event.
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: String,
    /// Concurrent buyers (each its own user and connection).
    #[arg(long, default_value_t = 1000)]
    buyers: usize,
    /// Seats in the event (rows of 100).
    #[arg(long, default_value_t = 50_000)]
    seats: u32,
    /// Hold attempts per buyer.
    #[arg(long, default_value_t = 20)]
    holds_per_buyer: usize,
    /// Most seats per hold (each hold takes 1 to this many adjacent seats).
    #[arg(long, default_value_t = 4)]
    max_seats: u32,
    /// Share of placed holds released again at once (0.0 to 1.0).
    #[arg(long, default_value_t = 0.5)]
    release: f64,
    /// Ask for the best seats of a random section (`best_available`) instead of naming
    /// random seats: every buyer of a section then wants the same front rows.
    #[arg(long)]
    best_available: bool,
}

/// Seats per row of the generated event.
pub(super) const ROW_SEATS: u32 = 100;

/// How often a request that met a transport error or a `503` is sent again, and the pause
/// before each after a transport error (doubling): about 25 s in all, longer than a
/// coordinator takes to restart.
const RETRIES: u32 = 8;
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Longest `Retry-After` a `503` is waited for.
const LONGEST_BUSY_WAIT: Duration = Duration::from_secs(5);

/// What a request met before its last outcome.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Resent {
    /// Transport errors: sent again to the next coordinator.
    pub(super) transport: u64,
    /// `503` answers: sent again after their `Retry-After`.
    pub(super) busy: u64,
}

impl Resent {
    pub(super) fn any(self) -> bool {
        self.transport + self.busy > 0
    }
}

struct BuyerReport {
    latencies: Histogram<u64>,
    placed: u64,
    conflicts: u64,
    errors: u64,
    resent: Resent,
    kept: Vec<(String, Hold)>,
}

/// Runs the hold storm and prints its table; fails if an invariant broke.
pub async fn run(args: HoldsArgs) -> anyhow::Result<()> {
    ensure!(
        args.seats >= ROW_SEATS,
        "--seats must be at least {ROW_SEATS}"
    );
    ensure!(
        (0.0..=1.0).contains(&args.release),
        "--release is a share, 0.0 to 1.0"
    );
    let bases: Vec<String> = args
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    let base = bases[0].clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.buyers)
        .timeout(Duration::from_secs(60))
        .build()?;

    let setup = Instant::now();
    let event_id = create_event(
        &client,
        &base,
        &args.operator_token,
        args.seats,
        "Loadgen Stadium Night",
    )
    .await?;
    let sessions = sign_up_buyers(&client, &bases, args.buyers).await?;
    let setup_time = setup.elapsed();

    let rows = args.seats / ROW_SEATS;
    // Every buyer first opens the event page (its own connection, untimed), then all
    // start holding at once.
    let start_line = Arc::new(tokio::sync::Barrier::new(args.buyers + 1));
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, session)| {
            // One client (and so one connection pool) per buyer, like separate browsers;
            // a shared pool's lock would be contended by a thousand tasks.
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client");
            let bases = Bases::new(&bases, i);
            let args = (
                args.holds_per_buyer,
                args.max_seats,
                args.release,
                args.best_available,
            );
            let start_line = start_line.clone();
            tokio::spawn(async move {
                let viewed = client
                    .get(format!("{}/v1/events/{event_id}", bases.first()))
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                start_line.wait().await;
                viewed.context("viewing the event")?;
                buyer(client, bases, event_id, rows, session, args).await
            })
        })
        .collect();
    start_line.wait().await;
    let started = Instant::now();
    // A line for whoever drives the run (the chaos test kills a coordinator after it).
    println!("holding: {} buyers started", args.buyers);
    let reports = join_all(tasks).await;
    let elapsed = started.elapsed();

    let mut latencies = Histogram::<u64>::new(3)?;
    let (mut placed, mut conflicts, mut errors) = (0, 0, 0);
    let mut resent = Resent::default();
    let mut kept = Vec::new();
    for report in reports {
        let report = report.context("buyer task")??;
        latencies.add(&report.latencies)?;
        placed += report.placed;
        conflicts += report.conflicts;
        errors += report.errors;
        resent.transport += report.resent.transport;
        resent.busy += report.resent.busy;
        kept.extend(report.kept);
    }

    let everyone = Bases::new(&bases, 0);
    let seats: SeatsResponse = everyone
        .send(|base| client.get(format!("{base}/v1/events/{event_id}/seats")))
        .await
        .0?
        .error_for_status()?
        .json()
        .await?;
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for (_, hold) in &kept {
        for seat in &hold.seats {
            *holders.entry(seat.as_str()).or_default() += 1;
        }
    }
    let double_held = holders.values().filter(|&&n| n > 1).count();
    let state: HashMap<&str, SeatStatus> = seats
        .seats
        .iter()
        .map(|s| (s.seat.seat_id.as_str(), s.state))
        .collect();
    let missing = holders
        .keys()
        .filter(|seat| state.get(*seat) != Some(&SeatStatus::Held))
        .count();
    let orphaned = state
        .iter()
        .filter(|(seat, s)| **s == SeatStatus::Held && !holders.contains_key(*seat))
        .count();

    let not_found = verify_kept_holds(&client, &bases, &kept).await?;

    let attempts = latencies.len();
    let secs = elapsed.as_secs_f64();
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!(
        "onsale loadgen holds: {} buyers, {} seats, {} attempts of 1-{} seats{}, {:.0}% released",
        args.buyers,
        args.seats,
        attempts,
        args.max_seats,
        if args.best_available {
            " (best available)"
        } else {
            ""
        },
        args.release * 100.0
    );
    println!(
        "setup (event + {} sign-ups and log-ins): {:.1} s",
        args.buyers,
        setup_time.as_secs_f64()
    );
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!("| run time | {secs:.2} s |");
    println!(
        "| hold attempts per second | {:.0} |",
        attempts as f64 / secs
    );
    println!(
        "| holds placed (committed) per second | {:.0} |",
        placed as f64 / secs
    );
    println!("| holds placed | {placed} |");
    println!("| refused: seat unavailable (409) | {conflicts} |");
    println!("| other errors | {errors} |");
    println!("| transport errors (sent again) | {} |", resent.transport);
    println!("| busy answers, 503 (sent again) | {} |", resent.busy);
    println!("| latency p50 | {:.2} ms |", ms(0.50));
    println!("| latency p99 | {:.2} ms |", ms(0.99));
    println!(
        "| latency max | {:.2} ms |",
        latencies.max() as f64 / 1000.0
    );
    println!("| seats in live holds | {} |", holders.len());
    println!("| live holds not found by their owner | {not_found} |");
    println!("| seats double-held | {double_held} |");
    println!("| live-hold seats not shown held | {missing} |");
    println!("| seats held without a live hold | {orphaned} |");
    if double_held + missing + orphaned + not_found > 0 {
        bail!("invariant broken: see the table");
    }
    Ok(())
}

/// Creates a published event of `seats` seats in rows of [`ROW_SEATS`] (`S{section}-R{row}-{n}`,
/// 50 rows per section) with the highest seat limit per account; returns its id.
pub(super) async fn create_event(
    client: &reqwest::Client,
    base: &str,
    operator_token: &str,
    seats: u32,
    name: &str,
) -> anyhow::Result<u64> {
    let rows = seats / ROW_SEATS;
    let sections = rows.div_ceil(50);
    let spec = SeatMapSpec {
        sections: (0..sections)
            .map(|s| SectionSpec {
                id: format!("S{s}"),
                name: format!("Section {s}"),
                price: 5_000 + 1_000 * u64::from(s),
                rows: (0..(rows - s * 50).min(50))
                    .map(|r| RowSpec {
                        name: format!("R{r}"),
                        seats: ROW_SEATS,
                        price: None,
                    })
                    .collect(),
                position: None,
            })
            .collect(),
    };
    let event = NewEvent {
        details: EventDetails {
            name: name.into(),
            category: "concert".into(),
            description: "Created by onsale loadgen.".into(),
            performers: vec!["The Load Generators".into()],
            venue: "Benchmark Stadium".into(),
            city: "Localhost".into(),
            starts_at: time::OffsetDateTime::now_utc() + time::Duration::days(30),
            image_url: String::new(),
            currency: "EUR".into(),
            // Buyers keep many holds each: the highest limit keeps them measuring holds,
            // not the limit.
            time_zone: None,
            max_seats_per_account: Some(MAX_SEATS_PER_ACCOUNT_LIMIT),
            published: None,
        },
        seat_map: spec,
    };
    let response = client
        .post(format!("{base}/v1/operator/events"))
        .bearer_auth(operator_token)
        .json(&event)
        .send()
        .await
        .context("is the coordinator running?")?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    ensure!(
        status.is_success(),
        "creating the event failed ({status}): {body}"
    );
    body["id"].as_u64().context("event id")
}

/// Signs `buyers` users up and logs them in (8 at a time, buyer i on URL i mod n);
/// returns their tokens.
pub(super) async fn sign_up_buyers(
    client: &reqwest::Client,
    bases: &[String],
    buyers: usize,
) -> anyhow::Result<Vec<String>> {
    let run: u32 = rand::rng().random();
    let gate = Arc::new(Semaphore::new(8));
    let sessions = join_all((0..buyers).map(|i| {
        let (client, base, gate) = (client.clone(), bases[i % bases.len()].clone(), gate.clone());
        async move {
            let _permit = gate.acquire().await?;
            let username = format!("lg{run:08x}_{i}");
            super::sign_up_and_log_in(
                &client,
                &base,
                &username,
                u64::from(run) * 10_000 + i as u64 % 10_000_000_000,
            )
            .await
        }
    }))
    .await;
    sessions.into_iter().collect()
}

/// The coordinators one buyer talks to: its own first (buyer i starts at URL i mod n),
/// the others in turn when a request meets a transport error.
#[derive(Clone)]
pub(super) struct Bases {
    order: Vec<String>,
}

impl Bases {
    pub(super) fn new(bases: &[String], first: usize) -> Self {
        let n = bases.len();
        Bases {
            order: (0..n).map(|k| bases[(first + k) % n].clone()).collect(),
        }
    }

    pub(super) fn first(&self) -> &str {
        &self.order[0]
    }

    /// Sends the request `build` makes for a base URL; after a transport error, sends it
    /// again (to the next coordinator, after a pause), and after a `503`, again after its
    /// `Retry-After`; up to [`RETRIES`] times in all. Returns the last outcome and what
    /// was met before it (a last transport error counts too).
    pub(super) async fn send(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> (reqwest::Result<reqwest::Response>, Resent) {
        let mut pause = FIRST_RETRY_PAUSE;
        let mut resent = Resent::default();
        let mut tries = 0;
        loop {
            let base = &self.order[resent.transport as usize % self.order.len()];
            let outcome = build(base).send().await;
            let again = tries < RETRIES;
            tries += 1;
            match outcome {
                Err(error) if again => {
                    tracing::debug!(%error, base, "transport error; sending again");
                    resent.transport += 1;
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Ok(response) if again && response.status().as_u16() == 503 => {
                    resent.busy += 1;
                    tokio::time::sleep(retry_after(&response).min(LONGEST_BUSY_WAIT)).await;
                }
                outcome => {
                    resent.transport += u64::from(outcome.is_err());
                    return (outcome, resent);
                }
            }
        }
    }
}

async fn buyer(
    client: reqwest::Client,
    bases: Bases,
    event_id: u64,
    rows: u32,
    token: String,
    (attempts, max_seats, release, best_available): (usize, u32, f64, bool),
) -> anyhow::Result<BuyerReport> {
    let mut report = BuyerReport {
        latencies: Histogram::new(3)?,
        placed: 0,
        conflicts: 0,
        errors: 0,
        resent: Resent::default(),
        kept: Vec::new(),
    };
    for _ in 0..attempts {
        let (request, let_go) = {
            let mut rng = rand::rng();
            let row = rng.random_range(0..rows);
            let count = rng.random_range(1..=max_seats.min(ROW_SEATS));
            let request = if best_available {
                let section = rng.random_range(0..rows.div_ceil(50));
                serde_json::json!({"best_available": {"section": format!("S{section}"), "count": count}})
            } else {
                let first = rng.random_range(1..=ROW_SEATS - count + 1);
                let seats: Vec<String> = (first..first + count)
                    .map(|n| format!("S{}-R{}-{n}", row / 50, row % 50))
                    .collect();
                serde_json::json!({ "seats": seats })
            };
            (request, rng.random_bool(release))
        };
        let key = uuid_like();
        let sent = Instant::now();
        let (response, resent) = bases
            .send(|base| {
                client
                    .post(format!("{base}/v1/events/{event_id}/holds"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", &key)
                    .json(&request)
            })
            .await;
        report.resent.transport += resent.transport;
        report.resent.busy += resent.busy;
        let Ok(response) = response else {
            report.errors += 1;
            continue;
        };
        let status = response.status().as_u16();
        let body = response.bytes().await;
        report.latencies.record(sent.elapsed().as_micros() as u64)?;
        match (status, body) {
            (201, Ok(body)) => {
                report.placed += 1;
                let hold: Hold = serde_json::from_slice(&body)?;
                if !let_go {
                    report.kept.push((token.clone(), hold));
                    continue;
                }
                let (released, resent) = bases
                    .send(|base| {
                        client
                            .delete(format!("{base}/v1/holds/{}", hold.hold_id))
                            .bearer_auth(&token)
                    })
                    .await;
                report.resent.transport += resent.transport;
                report.resent.busy += resent.busy;
                // A release sent again may find the hold already gone (the first one
                // committed); one that never got an answer leaves the hold's fate unknown
                // (an error).
                match released.map(|r| r.status().as_u16()) {
                    Ok(204) => {}
                    Ok(404) if resent.any() => {}
                    Ok(status) => bail!("release failed: {status}"),
                    Err(_) => report.errors += 1,
                }
            }
            (409, _) => report.conflicts += 1,
            _ => report.errors += 1,
        }
    }
    Ok(report)
}

/// The wait a `503` asks for (`Retry-After` in seconds), or a second.
fn retry_after(response: &reqwest::Response) -> Duration {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok()?.trim().parse().ok())
        .unwrap_or(1);
    Duration::from_secs(seconds)
}

/// Asks for every kept hold as its owner, through every coordinator in turn; returns how
/// many were not found with the seats the API first reported.
async fn verify_kept_holds(
    client: &reqwest::Client,
    bases: &[String],
    kept: &[(String, Hold)],
) -> anyhow::Result<usize> {
    let gate = Arc::new(Semaphore::new(64));
    let found = join_all(kept.iter().enumerate().map(|(i, (token, hold))| {
        let (client, gate) = (client.clone(), gate.clone());
        let bases = Bases::new(bases, i);
        async move {
            let _permit = gate.acquire().await?;
            let response = bases
                .send(|base| {
                    client
                        .get(format!("{base}/v1/holds/{}", hold.hold_id))
                        .bearer_auth(token)
                })
                .await
                .0?;
            if response.status().as_u16() != 200 {
                return anyhow::Ok(false);
            }
            let stored: Hold = response.json().await?;
            anyhow::Ok(stored.seats == hold.seats)
        }
    }))
    .await;
    let mut missing = 0;
    for ok in found {
        if !ok? {
            missing += 1;
        }
    }
    Ok(missing)
}

/// A random idempotency key.
pub(super) fn uuid_like() -> String {
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}
