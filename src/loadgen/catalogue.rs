//! `onsale loadgen catalogue`: publishes a generated catalogue of N events as a snapshot
//! folder (`onsale_indexer::synthetic`: varied cities, venues, performers and dates, the
//! same on every run), for an edge to serve without a coordinator
//! (`onsale edge --snapshots DIR`) in the edge's benchmarks, with the operator's regions
//! beside it if given. Prints what it built.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use onsale_indexer::{Region, Regions, Snapshot, SnapshotFolder, layout, synthetic};

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
    /// A region to publish beside the whole catalogue, as `onsale index --region` takes it
    /// (`name=City,City` or `name=*`); repeat for each.
    #[arg(long = "region", value_name = "NAME=CITIES")]
    regions: Vec<Region>,
}

/// Generates, builds and publishes the snapshots, opens each once, and prints a table.
pub async fn run(args: CatalogueArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let events = synthetic::generate(args.events);
    let generated = started.elapsed();
    let regions = Regions::new(args.regions)?;
    let folder = SnapshotFolder::new(&args.out);
    let sizes = regions
        .publish(&folder, args.version, &events)
        .context("building and publishing the snapshots")?;
    let built = started.elapsed() - generated;
    println!(
        "onsale loadgen catalogue: {} events into {}, version {}, generated in {:.2} s, \
         built and published in {:.2} s",
        events.len(),
        args.out.display(),
        args.version,
        generated.as_secs_f64(),
        built.as_secs_f64()
    );
    println!();
    println!(
        "| snapshot | events | cities | blob bytes | head bytes | held by an edge (head, table \
         decoded, no documents) | whole blob opened in | head opened in |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (region, blob_len) in sizes {
        let root = match &region {
            Some(name) => args.out.join(layout::region_root(name)),
            None => args.out.clone(),
        };
        let row = Row::measure(&root, args.version)?;
        println!(
            "| {} | {} | {} | {blob_len} | {} | {} | {:.0} ms | {:.0} ms |",
            region.as_deref().unwrap_or("(every event)"),
            row.events,
            row.cities,
            row.head_bytes,
            row.held_bytes,
            row.whole_ms,
            row.head_ms
        );
    }
    Ok(())
}

/// What one published snapshot costs to open.
struct Row {
    events: usize,
    cities: usize,
    head_bytes: usize,
    held_bytes: usize,
    whole_ms: f64,
    head_ms: f64,
}

impl Row {
    fn measure(root: &Path, version: u64) -> anyhow::Result<Row> {
        let blob = std::fs::read(root.join(layout::snapshot_path(version)))
            .context("reading a published blob")?;
        let head = std::fs::read(root.join(layout::head_path(version)))
            .context("reading a published head")?;
        let head_bytes = head.len();
        let opening = Instant::now();
        let whole = Snapshot::from_bytes(blob).context("opening the blob")?;
        let whole_ms = opening.elapsed().as_secs_f64() * 1000.0;
        let opening = Instant::now();
        let from_head = Snapshot::from_head(head, 0).context("opening the head")?;
        let head_ms = opening.elapsed().as_secs_f64() * 1000.0;
        Ok(Row {
            events: whole.len(),
            cities: whole.cities().len(),
            head_bytes,
            held_bytes: from_head.held_bytes(),
            whole_ms,
            head_ms,
        })
    }
}
