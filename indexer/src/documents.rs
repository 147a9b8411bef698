//! The event documents of a snapshot: JSON, in small LZ4 blocks of events (see
//! `format` for the layout), decoded one block at a time when a page needs its events.
//! The blocks are either all in memory (a whole blob) or fetched by the reader as pages
//! need them and kept up to a byte budget (a head alone: what an edge holds).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use onsale_model::Event;
use onsale_model::page::MAX_PAGE_SIZE;
use tantivy::directory::OwnedBytes;

use crate::error::{Error, Result};
use crate::format::{Block, Entry, check_block};

/// Events per block: a page of results spread over the catalogue decodes one small block
/// per event (8 rather than 16 took 30 µs off a search's median at 100,000 events, for a
/// blob 15% larger), a page of the list a few adjacent ones (one read for an edge).
#[cfg(feature = "build")]
pub(crate) const BLOCK_EVENTS: u32 = 8;

/// The compressed blocks of one snapshot and how to read an event from them.
pub(crate) struct Documents {
    storage: Storage,
    blocks: Vec<Block>,
    block_events: u32,
}

/// Where the compressed blocks are.
enum Storage {
    /// In the blob, which is all in memory.
    Whole(OwnedBytes),
    /// Fetched by the reader when a page needs them, and kept up to a budget.
    Fetched(Mutex<BlockCache>),
}

/// A block the reader must fetch before a page can be answered: its number and where its
/// compressed bytes are in the snapshot's blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingBlock {
    /// The block's number, for [`crate::Snapshot::insert_block`].
    pub number: u32,
    /// Its bytes' range in the blob (`snapshots/{version}.snap`).
    pub range: std::ops::Range<u64>,
}

impl Documents {
    /// The blocks of a whole blob, all in memory.
    pub fn whole(bytes: OwnedBytes, blocks: Vec<Block>, block_events: u32) -> Self {
        Documents {
            storage: Storage::Whole(bytes),
            blocks,
            block_events,
        }
    }

    /// Blocks to be fetched on demand, keeping at most `budget` compressed bytes of them,
    /// but never less than two pages of the largest blocks: the blocks one answer fetched
    /// must still be there when it asks again, even with another answer fetching between.
    pub fn fetched(blocks: Vec<Block>, block_events: u32, budget: usize) -> Self {
        let largest = blocks.iter().map(|block| block.range.len()).max();
        let two_pages = 2 * MAX_PAGE_SIZE as usize * largest.unwrap_or(0);
        Documents {
            storage: Storage::Fetched(Mutex::new(BlockCache::new(budget.max(two_pages)))),
            blocks,
            block_events,
        }
    }

    /// Keeps a fetched block, once its bytes pass its checksum.
    pub fn insert(&self, number: u32, compressed: Vec<u8>) -> Result<()> {
        let block = self
            .blocks
            .get(number as usize)
            .ok_or(Error::Corrupt("a block number past the last block"))?;
        if compressed.len() != block.range.len() {
            return Err(Error::Corrupt("a fetched block has the wrong length"));
        }
        check_block(&compressed, block.checksum)?;
        if let Storage::Fetched(cache) = &self.storage {
            lock(cache).insert(number, Arc::new(compressed));
        }
        Ok(())
    }

    /// Compressed bytes held in memory for documents.
    pub fn held_bytes(&self) -> usize {
        match &self.storage {
            Storage::Whole(_) => self.blocks.iter().map(|block| block.range.len()).sum(),
            Storage::Fetched(cache) => lock(cache).bytes,
        }
    }

    /// The events at these list positions, in the order given, each checked against its
    /// table entry. Each block needed is decoded once; blocks not fetched yet are
    /// [`Error::MissingBlocks`].
    pub fn events(&self, entries: &[Entry], positions: &[u32]) -> Result<Vec<Event>> {
        let block_of = |position: u32| position / self.block_events;
        let mut wanted: Vec<u32> = positions.iter().map(|&p| block_of(p)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let compressed = self.compressed(&wanted)?;
        let mut decoded: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
        let mut events = Vec::with_capacity(positions.len());
        for &position in positions {
            let entry = entries.get(position as usize).ok_or(Error::Corrupt(
                "the index returned a document with no event",
            ))?;
            let at = wanted
                .binary_search(&block_of(position))
                .expect("every position's block is wanted");
            if decoded[at].is_none() {
                decoded[at] = Some(self.decode(wanted[at], &compressed[at])?);
            }
            let bytes = decoded[at].as_deref().expect("decoded above");
            let event = event_in(bytes, (position % self.block_events) as usize)?;
            if event.id != entry.id
                || event.starts_at.unix_timestamp_nanos() != i128::from(entry.starts_at)
            {
                return Err(Error::Corrupt(
                    "a document differs from the list-order table",
                ));
            }
            events.push(event);
        }
        Ok(events)
    }

    /// The compressed bytes of these blocks (sorted, distinct), or the ones still to fetch.
    fn compressed(&self, wanted: &[u32]) -> Result<Vec<Compressed<'_>>> {
        let block = |number: u32| {
            self.blocks
                .get(number as usize)
                .ok_or(Error::Corrupt("a position past the last block"))
        };
        match &self.storage {
            Storage::Whole(bytes) => wanted
                .iter()
                .map(|&number| Ok(Compressed::Borrowed(&bytes[block(number)?.range.clone()])))
                .collect(),
            Storage::Fetched(cache) => {
                let cache = lock(cache);
                let mut found = Vec::with_capacity(wanted.len());
                let mut missing = Vec::new();
                for &number in wanted {
                    match cache.get(number) {
                        Some(bytes) => found.push(Compressed::Shared(bytes)),
                        None => {
                            let range = &block(number)?.range;
                            missing.push(MissingBlock {
                                number,
                                range: range.start as u64..range.end as u64,
                            });
                        }
                    }
                }
                if missing.is_empty() {
                    Ok(found)
                } else {
                    Err(Error::MissingBlocks(missing))
                }
            }
        }
    }

    /// Decompresses one block.
    fn decode(&self, number: u32, compressed: &[u8]) -> Result<Vec<u8>> {
        let decoded_len = self.blocks[number as usize].decoded_len as usize;
        lz4_flex::block::decompress(compressed, decoded_len)
            .ok()
            .filter(|decoded| decoded.len() == decoded_len)
            .ok_or(Error::Corrupt("a block does not decompress"))
    }
}

/// A block's compressed bytes, in the blob or in the cache.
enum Compressed<'a> {
    Borrowed(&'a [u8]),
    Shared(Arc<Vec<u8>>),
}

impl std::ops::Deref for Compressed<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Compressed::Borrowed(bytes) => bytes,
            Compressed::Shared(bytes) => bytes,
        }
    }
}

/// Fetched blocks, oldest first out once over budget.
struct BlockCache {
    blocks: HashMap<u32, Arc<Vec<u8>>>,
    /// Block numbers in the order they came.
    order: VecDeque<u32>,
    bytes: usize,
    budget: usize,
}

impl BlockCache {
    fn new(budget: usize) -> Self {
        BlockCache {
            blocks: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    fn get(&self, number: u32) -> Option<Arc<Vec<u8>>> {
        self.blocks.get(&number).cloned()
    }

    fn insert(&mut self, number: u32, bytes: Arc<Vec<u8>>) {
        if self.blocks.contains_key(&number) {
            return;
        }
        self.bytes += bytes.len();
        self.blocks.insert(number, bytes);
        self.order.push_back(number);
        // The block just added stays, even alone over budget: its page is about to read it.
        while self.bytes > self.budget && self.order.len() > 1 {
            let oldest = self.order.pop_front().expect("more than one block");
            if let Some(gone) = self.blocks.remove(&oldest) {
                self.bytes -= gone.len();
            }
        }
    }
}

/// The cache, even if a thread panicked holding it (it is consistent between calls).
fn lock(cache: &Mutex<BlockCache>) -> std::sync::MutexGuard<'_, BlockCache> {
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `index`th event of a decoded block.
fn event_in(block: &[u8], index: usize) -> Result<Event> {
    let offset = |at: usize| -> Result<usize> {
        block
            .get(at * 4..at * 4 + 4)
            .map(|bytes| u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
            .ok_or(Error::Corrupt("a block's offsets are cut short"))
    };
    let count = offset(0)?;
    if index >= count {
        return Err(Error::Corrupt("a block holds fewer events than the table"));
    }
    let json_start = (count + 2) * 4;
    let (start, end) = (offset(index + 1)?, offset(index + 2)?);
    let range = json_start
        .checked_add(start)
        .zip(json_start.checked_add(end));
    let json = range
        .and_then(|(start, end)| block.get(start..end))
        .ok_or(Error::Corrupt("a block's offsets point outside it"))?;
    serde_json::from_slice(json).map_err(Error::Documents)
}

/// Encodes events (in list order) as blocks: each block's compressed bytes and decoded
/// length.
#[cfg(feature = "build")]
pub(crate) fn encode(events: &[&Event]) -> Result<Vec<(Vec<u8>, u32)>> {
    events
        .chunks(BLOCK_EVENTS as usize)
        .map(|chunk| {
            let mut json = Vec::new();
            let mut offsets = vec![chunk.len() as u32, 0];
            for event in chunk {
                serde_json::to_writer(&mut json, event).map_err(Error::Documents)?;
                offsets.push(
                    u32::try_from(json.len())
                        .map_err(|_| Error::Corrupt("a block is too large"))?,
                );
            }
            let mut decoded: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
            decoded.extend_from_slice(&json);
            let decoded_len = u32::try_from(decoded.len())
                .ok()
                .filter(|&len| len <= crate::format::MAX_BLOCK_BYTES)
                .ok_or(Error::Corrupt("a block of events is too large"))?;
            Ok((lz4_flex::block::compress(&decoded), decoded_len))
        })
        .collect()
}
