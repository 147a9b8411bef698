//! Search benchmark: builds a 100,000-event snapshot, opens it, runs a few thousand mixed
//! searches in process and prints latency per kind of query.
//!
//! `cargo bench -p onsale-indexer --bench search` (DESIGN target: p99 ≤ 1 ms in process).
//! Set `ONSALE_BENCH_EVENTS` to change the catalogue size, and `ONSALE_BENCH_REGION`
//! (`europe=Berlin,Paris`, as `onsale index --region` takes it) to search what an edge of
//! that region holds, and `ONSALE_BENCH_KIND` (part of a kind's name, `2 words`) to run the
//! kinds it names alone (for a profile of one kind).

use std::hint::black_box;
use std::time::{Duration, Instant};

use onsale_indexer::synthetic as catalogue;
use onsale_indexer::{
    Region, Regions, SearchQuery, Snapshot, SnapshotFolder, build_snapshot, layout,
};
use onsale_model::{Event, PageQuery};

/// Queries of each kind.
const PER_KIND: usize = 500;

/// A deterministic pseudo-random sequence (SplitMix64), so every run asks the same queries.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// One kind of request, and how to make the next one.
struct Kind {
    name: &'static str,
    make: fn(&mut Rng, &[Event]) -> Request,
}

enum Request {
    Search(SearchQuery),
    List(PageQuery),
}

fn search(query: SearchQuery) -> Request {
    Request::Search(query)
}

/// A word of at least five letters from `text`, if it has one.
fn long_word(rng: &mut Rng, text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 5)
        .collect();
    (!words.is_empty()).then(|| words[rng.below(words.len())].to_string())
}

/// `word` with one letter dropped, doubled or swapped with the next.
fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let at = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

fn iso(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: "list page",
            make: |rng, events| {
                Request::List(PageQuery {
                    page: 1 + rng.below(events.len() / 20) as u32,
                    page_size: 20,
                })
            },
        },
        Kind {
            name: "free text, 2 words",
            make: |rng, events| {
                let event = &events[rng.below(events.len())];
                let mut words = event.name.split(' ').rev();
                let q = format!(
                    "{} {}",
                    words.next().unwrap_or_default(),
                    if rng.below(2) == 0 {
                        event.city.as_str()
                    } else {
                        words.next().unwrap_or_default()
                    }
                );
                search(SearchQuery {
                    q: Some(q),
                    ..Default::default()
                })
            },
        },
        Kind {
            name: "performer name",
            make: |rng, events| {
                let event = &events[rng.below(events.len())];
                search(SearchQuery {
                    q: Some(event.performers[0].clone()),
                    ..Default::default()
                })
            },
        },
        Kind {
            name: "typo in a name",
            make: |rng, events| loop {
                let event = &events[rng.below(events.len())];
                let text = if rng.below(2) == 0 {
                    &event.performers[0]
                } else {
                    &event.name
                };
                if let Some(word) = long_word(rng, text) {
                    break search(SearchQuery {
                        q: Some(typo(rng, &word)),
                        ..Default::default()
                    });
                }
            },
        },
        Kind {
            name: "filters only",
            make: |rng, events| {
                let event = &events[rng.below(events.len())];
                let mut query = SearchQuery {
                    category: Some(event.category.to_uppercase()),
                    location: Some(event.city.clone()),
                    ..Default::default()
                };
                if rng.below(2) == 0 {
                    query.performer = Some(event.performers[0].clone());
                }
                search(query)
            },
        },
        Kind {
            name: "date range (+category)",
            make: |rng, events| {
                let event = &events[rng.below(events.len())];
                search(SearchQuery {
                    category: (rng.below(2) == 0).then(|| event.category.clone()),
                    from: Some(iso(event.starts_at)),
                    to: Some(iso(event.starts_at + time::Duration::days(7))),
                    ..Default::default()
                })
            },
        },
        Kind {
            name: "text + place + dates",
            make: |rng, events| {
                let event = &events[rng.below(events.len())];
                search(SearchQuery {
                    q: event.name.split(' ').next_back().map(str::to_string),
                    location: Some(event.venue.clone()),
                    from: Some(iso(event.starts_at - time::Duration::days(90))),
                    to: Some(iso(event.starts_at + time::Duration::days(90))),
                    ..Default::default()
                })
            },
        },
        Kind {
            name: "common word, page 20",
            make: |rng, _| {
                let q = ["tour", "live", "nights", "golden", "the"][rng.below(5)];
                search(SearchQuery {
                    q: Some(q.to_string()),
                    page: 20,
                    page_size: 20,
                    ..Default::default()
                })
            },
        },
    ]
}

/// Runs a request; returns how many events matched in all.
fn run(snapshot: &Snapshot, request: &Request) -> u64 {
    match request {
        Request::Search(query) => match snapshot.search(query) {
            Ok(page) => black_box(page).total,
            Err(error) => panic!("{query:?}: {error}"),
        },
        Request::List(query) => black_box(snapshot.list(*query).expect("list")).total,
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let at = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[at - 1]
}

fn main() {
    let count: usize = std::env::var("ONSALE_BENCH_EVENTS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(100_000);
    let mut events = catalogue::generate(count);
    if let Ok(spec) = std::env::var("ONSALE_BENCH_REGION") {
        // What an edge of that region holds: its cities' events alone.
        let region: Region = spec.parse().expect("ONSALE_BENCH_REGION is name=City,City");
        let regions = Regions::new(vec![region]).expect("a region");
        events.retain(|event| regions.of(&event.city).is_some());
        println!("region {spec}: {} of {count} events", events.len());
    }
    let count = events.len();
    let distinct = |of: fn(&Event) -> Vec<&str>| {
        let mut all: Vec<&str> = events.iter().flat_map(of).collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    };
    println!(
        "catalogue: {count} events, {} performers, {} event names, {} cities, {} categories",
        distinct(|e| e.performers.iter().map(String::as_str).collect()),
        distinct(|e| vec![e.name.as_str()]),
        distinct(|e| vec![e.city.as_str()]),
        distinct(|e| vec![e.category.as_str()]),
    );

    let started = Instant::now();
    let blob = build_snapshot(1, &events).expect("build");
    let built = started.elapsed();
    let blob_len = blob.len() as f64 / 1e6;
    let documents_len = serde_json::to_vec(&events).map_or(0, |json| json.len()) as f64 / 1e6;
    let started = Instant::now();
    let snapshot = Snapshot::from_bytes(blob.clone()).expect("open");
    let opened = started.elapsed();
    // What an edge holds: the head, published beside the blob.
    let folder = tempfile::tempdir().expect("temp dir");
    let version = SnapshotFolder::new(folder.path())
        .publish(&blob)
        .expect("publish");
    let head = std::fs::read(folder.path().join(layout::head_path(version))).expect("head");
    let started = Instant::now();
    let from_head = Snapshot::from_head(head, 0).expect("open the head");
    let head_opened = started.elapsed();
    println!(
        "build: {:.2} s   blob: {blob_len:.1} MB (the events as plain JSON: \
         {documents_len:.1} MB)   open (checks, table, index): {:.0} ms",
        built.as_secs_f64(),
        opened.as_secs_f64() * 1e3,
    );
    println!(
        "head (what an edge holds before documents): {:.1} MB, opened in {:.0} ms",
        from_head.held_bytes() as f64 / 1e6,
        head_opened.as_secs_f64() * 1e3,
    );
    drop(from_head);

    let mut rng = Rng(7);
    let kinds = kinds();
    // Every kind's queries are made, so that a kind run alone asks the same ones.
    let mut requests: Vec<(&Kind, Vec<Request>)> = kinds
        .iter()
        .map(|kind| {
            let requests = (0..PER_KIND)
                .map(|_| (kind.make)(&mut rng, &events))
                .collect();
            (kind, requests)
        })
        .collect();
    if let Ok(only) = std::env::var("ONSALE_BENCH_KIND") {
        requests.retain(|(kind, _)| kind.name.contains(only.as_str()));
    }
    // Warm up: every request once, untimed.
    for (_, requests) in &requests {
        for request in requests {
            run(&snapshot, request);
        }
    }

    println!();
    println!(
        "{:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "query kind", "queries", "p50 µs", "p99 µs", "max µs", "mean µs", "mean total"
    );
    let mut everything = Vec::new();
    for (kind, requests) in &requests {
        let mut times = Vec::with_capacity(requests.len());
        let mut totals = 0u64;
        for request in requests {
            let started = Instant::now();
            totals += run(&snapshot, request);
            times.push(started.elapsed());
        }
        times.sort_unstable();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "{:<24} {:>7} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>11.0}",
            kind.name,
            times.len(),
            micros(percentile(&times, 0.50)),
            micros(percentile(&times, 0.99)),
            micros(percentile(&times, 1.0)),
            micros(mean),
            totals as f64 / times.len() as f64,
        );
        everything.extend(times);
    }
    everything.sort_unstable();
    println!(
        "{:<24} {:>7} {:>9.0} {:>9.0} {:>9.0}",
        "all",
        everything.len(),
        micros(percentile(&everything, 0.50)),
        micros(percentile(&everything, 0.99)),
        micros(percentile(&everything, 1.0)),
    );
}
