//! `onsale loadgen catalogue`: publishes a generated catalogue of N events as a snapshot
//! folder (`onsale_indexer::synthetic`: varied cities, venues, performers and dates, the
//! same on every run), for an edge to serve without a coordinator
//! (`onsale edge --snapshots DIR`) in the edge's benchmarks. Prints what it built.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use onsale_indexer::{Snapshot, SnapshotFolder, build_snapshot, layout, synthetic};

/// Flags of `onsale loadgen catalogue`.
#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// Events in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// The snapshot folder to publish to (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The snapshot's version (above any already published in the folder).
    #[arg(long, default_value_t = 1)]
    version: u64,
}

/// Generates, builds, publishes and opens the snapshot once, and prints a table.
pub async fn run(args: CatalogueArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let events = synthetic::generate(args.events);
    let generated = started.elapsed();
    let blob = build_snapshot(args.version, &events).context("building the snapshot")?;
    let built = started.elapsed() - generated;
    let folder = SnapshotFolder::new(&args.out);
    let version = folder.publish(&blob).context("publishing the snapshot")?;
    let opening = Instant::now();
    let snapshot = Snapshot::from_bytes(blob.clone()).context("opening the snapshot")?;
    let opened = opening.elapsed();
    let head = std::fs::read(args.out.join(layout::head_path(version)))
        .context("reading the published head")?;
    let head_len = head.len();
    let opening = Instant::now();
    let from_head = Snapshot::from_head(head, 0).context("opening the head")?;
    let head_opened = opening.elapsed();
    println!("onsale loadgen catalogue: {} events", snapshot.len());
    println!();
    println!("| what | value |");
    println!("|---|---|");
    println!("| folder | {} |", args.out.display());
    println!("| version | {version} |");
    println!("| snapshot bytes | {} |", blob.len());
    println!("| head bytes | {head_len} |");
    println!(
        "| bytes an edge holds (head, table decoded, no documents) | {} |",
        from_head.held_bytes()
    );
    println!("| cities | {} |", snapshot.cities().len());
    println!("| generated in | {:.2} s |", generated.as_secs_f64());
    println!("| built in | {:.2} s |", built.as_secs_f64());
    println!("| opened in | {:.0} ms |", opened.as_secs_f64() * 1000.0);
    println!(
        "| head opened in | {:.0} ms |",
        head_opened.as_secs_f64() * 1000.0
    );
    Ok(())
}
