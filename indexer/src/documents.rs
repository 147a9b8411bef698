//! The event documents of a snapshot: JSON, in LZ4 blocks of a few dozen events each (see
//! `format` for the layout), decoded one block at a time when a page needs its events.

use onsale_model::Event;
use tantivy::directory::OwnedBytes;

use crate::error::{Error, Result};
use crate::format::{Block, Entry, MAX_BLOCK_BYTES};

/// Events per block: a page of results spread over the catalogue decodes one small block
/// per event, a page of the list one or two.
#[cfg(feature = "build")]
pub(crate) const BLOCK_EVENTS: u32 = 16;

/// The compressed blocks of one snapshot and how to read an event from them.
pub(crate) struct Documents {
    /// The blob the blocks are ranges of.
    bytes: OwnedBytes,
    blocks: Vec<Block>,
    block_events: u32,
}

impl Documents {
    /// The blocks of a checked blob.
    pub fn new(bytes: OwnedBytes, blocks: Vec<Block>, block_events: u32) -> Self {
        Documents {
            bytes,
            blocks,
            block_events,
        }
    }

    /// The events at these list positions, in the order given, each checked against its
    /// table entry. Each block needed is decoded once.
    pub fn events(&self, entries: &[Entry], positions: &[u32]) -> Result<Vec<Event>> {
        let mut events = Vec::with_capacity(positions.len());
        let mut decoded: Option<(usize, Vec<u8>)> = None;
        let mut order: Vec<usize> = (0..positions.len()).collect();
        order.sort_by_key(|&at| positions[at]);
        let mut found: Vec<Option<Event>> = vec![None; positions.len()];
        for at in order {
            let position = positions[at] as usize;
            let entry = entries.get(position).ok_or(Error::Corrupt(
                "the index returned a document with no event",
            ))?;
            let block = position / self.block_events as usize;
            if decoded.as_ref().is_none_or(|(number, _)| *number != block) {
                decoded = Some((block, self.decode(block)?));
            }
            let (_, bytes) = decoded.as_ref().expect("decoded above");
            let event = event_in(bytes, position % self.block_events as usize)?;
            if event.id != entry.id || event.starts_at.unix_timestamp_nanos() != entry.starts_at {
                return Err(Error::Corrupt(
                    "a document differs from the list-order table",
                ));
            }
            found[at] = Some(event);
        }
        for event in found {
            events.push(event.expect("every position was read"));
        }
        Ok(events)
    }

    /// Decompresses one block.
    fn decode(&self, number: usize) -> Result<Vec<u8>> {
        let block = self
            .blocks
            .get(number)
            .ok_or(Error::Corrupt("a position past the last block"))?;
        lz4_flex::block::decompress(&self.bytes[block.range.clone()], block.decoded_len as usize)
            .ok()
            .filter(|decoded| decoded.len() == block.decoded_len as usize)
            .ok_or(Error::Corrupt("a block does not decompress"))
    }
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
                .filter(|&len| len <= MAX_BLOCK_BYTES)
                .ok_or(Error::Corrupt("a block of events is too large"))?;
            Ok((lz4_flex::block::compress(&decoded), decoded_len))
        })
        .collect()
}
