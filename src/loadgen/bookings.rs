//! `onsale loadgen bookings`: many buyers each make pending bookings one after another:
//! hold one random seat of a large event, then check the hold out (a booking waiting for
//! payment, with its total and payment page). A seat someone else has is a `409`, and
//! the buyer picks another. Afterwards every booking is checked: no seat in two bookings,
//! every booking found by its buyer, pending, with its seat, and every booked seat shown
//! taken on the seat map.
//!
//! A request that meets a transport error is sent again to the next coordinator with the
//! same `Idempotency-Key` (so its outcome is still known), and a `503` after its
//! `Retry-After`; both are counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::future::join_all;
use hdrhistogram::Histogram;
use onsale_model::{
    Booking, BookingStatus, CheckoutResponse, Hold, MAX_SEATS_PER_ACCOUNT_LIMIT, SeatStatus,
    SeatsResponse,
};
use rand::Rng;
use tokio::sync::Semaphore;

use super::holds::{Bases, ROW_SEATS, Resent, create_event, sign_up_buyers, uuid_like};

/// Flags of `onsale loadgen bookings`.
#[derive(Debug, clap::Args)]
pub struct BookingsArgs {
    /// The coordinator (or an edge, which forwards writes); repeat to spread buyers over
    /// several (buyer i talks to URL i mod n).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// Operator token, to create the event.
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: String,
    /// Concurrent buyers (each its own user and connection), each booking one seat at a
    /// time.
    #[arg(long, default_value_t = 32)]
    buyers: usize,
    /// Pending bookings each buyer makes, one after another. An account may have at most
    /// 100 seats of an event, so a buyer makes its bookings with as many accounts as that
    /// takes (signed up before the run), 100 each.
    #[arg(long, default_value_t = 50)]
    bookings_per_buyer: u32,
    /// Seats in the event (rows of 100).
    #[arg(long, default_value_t = 50_000)]
    seats: u32,
}

/// One booking as its buyer was told.
struct Booked {
    token: String,
    booking_id: String,
    seat: String,
}

#[derive(Default)]
struct Counts {
    bookings: u64,
    conflicts: u64,
    errors: u64,
    resent: Resent,
}

struct BuyerReport {
    /// Hold + checkout, from the hold's request to the checkout's answer.
    units: Histogram<u64>,
    holds: Histogram<u64>,
    checkouts: Histogram<u64>,
    counts: Counts,
    booked: Vec<Booked>,
    /// Holds whose checkout got no answer: their seats may be held without a booking.
    unchecked: Vec<String>,
}

/// Runs the bookings and prints their table; fails if an invariant broke.
pub async fn run(args: BookingsArgs) -> anyhow::Result<()> {
    ensure!(
        args.seats >= ROW_SEATS,
        "--seats must be at least {ROW_SEATS}"
    );
    ensure!(
        args.bookings_per_buyer > 0,
        "--bookings-per-buyer must be at least 1"
    );
    ensure!(
        u64::from(args.bookings_per_buyer) * args.buyers as u64 <= u64::from(args.seats) / 2,
        "--seats must be at least twice the bookings made, or buyers mostly find seats taken"
    );
    let bases: Vec<String> = args
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let setup = Instant::now();
    let event_id = create_event(
        &client,
        &bases[0],
        &args.operator_token,
        args.seats,
        "Loadgen Booking Night",
    )
    .await?;
    let accounts = args
        .bookings_per_buyer
        .div_ceil(MAX_SEATS_PER_ACCOUNT_LIMIT) as usize;
    let mut tokens = sign_up_buyers(&client, &bases, args.buyers * accounts)
        .await?
        .into_iter();
    let sessions: Vec<Vec<String>> = (0..args.buyers)
        .map(|_| tokens.by_ref().take(accounts).collect())
        .collect();
    let setup_time = setup.elapsed();

    let rows = args.seats / ROW_SEATS;
    let start_line = Arc::new(tokio::sync::Barrier::new(args.buyers + 1));
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, tokens)| {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client");
            let bases = Bases::new(&bases, i);
            let start_line = start_line.clone();
            let count = args.bookings_per_buyer;
            tokio::spawn(async move {
                start_line.wait().await;
                buyer(client, bases, event_id, rows, tokens, count).await
            })
        })
        .collect();
    start_line.wait().await;
    let started = Instant::now();
    let reports = join_all(tasks).await;
    let elapsed = started.elapsed();

    let (mut units, mut holds, mut checkouts) = (
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
    );
    let mut counts = Counts::default();
    let mut booked = Vec::new();
    let mut unchecked = Vec::new();
    for report in reports {
        let report = report.context("buyer task")??;
        units.add(&report.units)?;
        holds.add(&report.holds)?;
        checkouts.add(&report.checkouts)?;
        counts.bookings += report.counts.bookings;
        counts.conflicts += report.counts.conflicts;
        counts.errors += report.counts.errors;
        counts.resent.transport += report.counts.resent.transport;
        counts.resent.busy += report.counts.resent.busy;
        booked.extend(report.booked);
        unchecked.extend(report.unchecked);
    }

    let check = check_bookings(&client, &bases, event_id, &booked, &unchecked).await?;
    let secs = elapsed.as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!(
        "onsale loadgen bookings: {} buyers, {} bookings each (hold 1 seat + checkout), {} seats",
        args.buyers, args.bookings_per_buyer, args.seats
    );
    println!(
        "setup (event + {} sign-ups and log-ins): {:.1} s",
        args.buyers * accounts,
        setup_time.as_secs_f64()
    );
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!("| run time | {secs:.2} s |");
    println!(
        "| pending bookings per second | {:.0} |",
        counts.bookings as f64 / secs
    );
    println!("| pending bookings | {} |", counts.bookings);
    println!(
        "| holds refused: seat taken (409, another seat tried) | {} |",
        counts.conflicts
    );
    println!("| other errors | {} |", counts.errors);
    println!(
        "| transport errors (sent again) | {} |",
        counts.resent.transport
    );
    println!(
        "| busy answers, 503 (sent again) | {} |",
        counts.resent.busy
    );
    for (name, histogram) in [
        ("hold + checkout", &units),
        ("hold", &holds),
        ("checkout", &checkouts),
    ] {
        println!(
            "| {name} p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
            ms(histogram, 0.5),
            ms(histogram, 0.99),
            histogram.max() as f64 / 1000.0
        );
    }
    println!("| seats booked twice | {} |", check.booked_twice);
    println!(
        "| bookings not found pending with their seat by their buyer | {} |",
        check.not_found
    );
    println!("| booked seats shown available | {} |", check.shown_free);
    println!(
        "| seats taken without a booking or a hold | {} |",
        check.orphaned
    );
    if check.booked_twice + check.not_found + check.shown_free + check.orphaned > 0 {
        bail!("invariant broken: see the table");
    }
    Ok(())
}

/// One buyer's bookings, one at a time, with each of `tokens` (accounts) in turn for up to
/// the per-account limit.
async fn buyer(
    client: reqwest::Client,
    bases: Bases,
    event_id: u64,
    rows: u32,
    tokens: Vec<String>,
    count: u32,
) -> anyhow::Result<BuyerReport> {
    let mut report = BuyerReport {
        units: Histogram::new(3)?,
        holds: Histogram::new(3)?,
        checkouts: Histogram::new(3)?,
        counts: Counts::default(),
        booked: Vec::new(),
        unchecked: Vec::new(),
    };
    let mut made = 0;
    // Every attempt ends in a booking, a 409 or an error; errors end the buyer's run
    // early rather than loop.
    while made < count && report.counts.errors < u64::from(count) {
        let token = &tokens[(made / MAX_SEATS_PER_ACCOUNT_LIMIT) as usize];
        let seat = {
            let mut rng = rand::rng();
            let row = rng.random_range(0..rows);
            let number = rng.random_range(1..=ROW_SEATS);
            format!("S{}-R{}-{number}", row / 50, row % 50)
        };
        let sent = Instant::now();
        let key = uuid_like();
        let (response, resent) = bases
            .send(|base| {
                client
                    .post(format!("{base}/v1/events/{event_id}/holds"))
                    .bearer_auth(token)
                    .header("Idempotency-Key", &key)
                    .json(&serde_json::json!({ "seats": [&seat] }))
            })
            .await;
        add(&mut report.counts.resent, resent);
        let Ok(response) = response else {
            report.counts.errors += 1;
            continue;
        };
        let status = response.status().as_u16();
        let body = response.bytes().await;
        report.holds.record(sent.elapsed().as_micros() as u64)?;
        let hold: Hold = match (status, body) {
            (201, Ok(body)) => serde_json::from_slice(&body)?,
            // The seat is someone else's; any other 409 (the account's limit) is an error.
            (409, Ok(body)) if seat_taken(&body) => {
                report.counts.conflicts += 1;
                continue;
            }
            _ => {
                report.counts.errors += 1;
                continue;
            }
        };
        let checkout_sent = Instant::now();
        let key = uuid_like();
        let (response, resent) = bases
            .send(|base| {
                client
                    .post(format!("{base}/v1/holds/{}/checkout", hold.hold_id))
                    .bearer_auth(token)
                    .header("Idempotency-Key", &key)
            })
            .await;
        add(&mut report.counts.resent, resent);
        let answer = match response {
            Ok(response) if response.status().as_u16() == 201 => {
                response.json::<CheckoutResponse>().await.ok()
            }
            Ok(response) if response.status().as_u16() == 503 => {
                let body = response.text().await.unwrap_or_default();
                ensure!(
                    !body.contains("payment_unavailable"),
                    "the coordinator takes no payments, so nothing can be checked out: start it \
                     with a payment provider (`--payments-sandbox 127.0.0.1:0` for the sandbox)"
                );
                None
            }
            _ => None,
        };
        let Some(answer) = answer else {
            report.counts.errors += 1;
            report.unchecked.push(seat);
            continue;
        };
        let now = Instant::now();
        report
            .checkouts
            .record((now - checkout_sent).as_micros() as u64)?;
        report.units.record((now - sent).as_micros() as u64)?;
        report.counts.bookings += 1;
        made += 1;
        report.booked.push(Booked {
            token: token.clone(),
            booking_id: answer.booking_id,
            seat,
        });
    }
    Ok(report)
}

/// Whether a `409` answer says the seat is taken (`seat_unavailable`).
fn seat_taken(body: &[u8]) -> bool {
    serde_json::from_slice::<onsale_model::ErrorBody>(body)
        .is_ok_and(|answer| answer.error.code == onsale_model::ErrorCode::SeatUnavailable)
}

fn add(total: &mut Resent, more: Resent) {
    total.transport += more.transport;
    total.busy += more.busy;
}

/// What the end-of-run check found.
struct Check {
    booked_twice: usize,
    not_found: usize,
    shown_free: usize,
    orphaned: usize,
}

/// Reads the seat map and every booking back (as its buyer) and compares them with what
/// the buyers were told.
async fn check_bookings(
    client: &reqwest::Client,
    bases: &[String],
    event_id: u64,
    booked: &[Booked],
    unchecked: &[String],
) -> anyhow::Result<Check> {
    let mut bookings_of: HashMap<&str, usize> = HashMap::new();
    for booking in booked {
        *bookings_of.entry(booking.seat.as_str()).or_default() += 1;
    }
    let booked_twice = bookings_of.values().filter(|&&n| n > 1).count();
    let seats: SeatsResponse = Bases::new(bases, 0)
        .send(|base| client.get(format!("{base}/v1/events/{event_id}/seats")))
        .await
        .0?
        .error_for_status()?
        .json()
        .await?;
    let state: HashMap<&str, SeatStatus> = seats
        .seats
        .iter()
        .map(|s| (s.seat.seat_id.as_str(), s.state))
        .collect();
    let shown_free = bookings_of
        .keys()
        .filter(|seat| state.get(*seat) != Some(&SeatStatus::Held))
        .count();
    let orphaned = state
        .iter()
        .filter(|(seat, s)| {
            **s != SeatStatus::Available
                && !bookings_of.contains_key(*seat)
                && !unchecked.iter().any(|u| u == *seat)
        })
        .count();
    let gate = Arc::new(Semaphore::new(64));
    let found = join_all(booked.iter().enumerate().map(|(i, booking)| {
        let (client, gate) = (client.clone(), gate.clone());
        let bases = Bases::new(bases, i);
        async move {
            let _permit = gate.acquire().await?;
            let response = bases
                .send(|base| {
                    client
                        .get(format!("{base}/v1/bookings/{}", booking.booking_id))
                        .bearer_auth(&booking.token)
                })
                .await
                .0?;
            if response.status().as_u16() != 200 {
                return anyhow::Ok(false);
            }
            let stored: Booking = response.json().await?;
            anyhow::Ok(
                stored.status == BookingStatus::Pending && stored.seats == [booking.seat.as_str()],
            )
        }
    }))
    .await;
    let mut not_found = 0;
    for ok in found {
        if !ok? {
            not_found += 1;
        }
    }
    Ok(Check {
        booked_twice,
        not_found,
        shown_free,
        orphaned,
    })
}
