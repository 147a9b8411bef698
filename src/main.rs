//! `onsale`: the command line that starts any part of the platform.
//!
//! - `onsale dev`: coordinator, indexer and edge in one process, with the demo catalogue.
//! - `onsale coordinator --store ADDR`: the coordinator for real.
//! - `onsale index`: publishes catalogue snapshots from the coordinator's change log.
//! - `onsale edge`: serves pages and search from snapshots, forwards writes.
//! - `onsale import FILE.json`: load events into a store or a running coordinator.
//! - `onsale loadgen holds`: a hold storm against a running coordinator, as a table.

mod cli;
mod duration;
mod limit_flags;
mod loadgen;
mod serving;

use clap::Parser;

/// mimalloc: the request path allocates many small short-lived buffers, and glibc's
/// allocator cost a fifth of the coordinator's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    onsale_server::raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(cli::run(args))
}
