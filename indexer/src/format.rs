//! The snapshot container: one blob per version, a *head* that a reader keeps whole (the
//! index, the list-order table, the block directory) followed by the event documents in
//! compressed *blocks* that a reader decodes one at a time.
//!
//! All integers are little-endian:
//!
//! ```text
//! magic          8 bytes  "ONSALESN"
//! format         u32      FORMAT_VERSION
//! version        u64      the snapshot's version
//! event count    u64      how many events the snapshot holds
//! block events   u32      events per block (the last block may hold fewer)
//! block count    u32      how many blocks follow the head
//! file count     u32      how many index files follow
//! file × count   name length u16, name (UTF-8), data length u64, data
//! catalogue      length u64, JSON {"categories": [...], "cities": [...]}, each sorted once
//! table          length u64, then per event in list order (start, then id): the id's
//!                change from the previous event's (zigzag), and the start's change in
//!                Unix nanoseconds (the first from zero, zigzag; then never negative),
//!                each a LEB128 varint
//! block × count  compressed length u32, decoded length u32, CRC-32 of the compressed bytes
//! head checksum  u32      CRC-32 (IEEE) of every byte before it
//! blocks         the compressed blocks, back to back, nothing after them
//! ```
//!
//! A block is LZ4-compressed (the block format, pure Rust: it decodes on wasm32). Decoded,
//! it is `count + 1` u32 offsets into the JSON that follows them, then the events' JSON one
//! after another: one event is found and parsed without touching its neighbours.
//!
//! The head is everything a reader needs to search, list and look up by id; a block is
//! needed only to return an event's document, and each block carries its own checksum,
//! so blocks can be checked (and, later, fetched) one at a time.

use std::ops::Range;

use crate::error::{Error, Result};

/// The first bytes of every snapshot.
const MAGIC: &[u8; 8] = b"ONSALESN";
/// The container format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Magic, format, version, event count, block events, block count, file count.
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 4 + 4 + 4;
/// Most index files a snapshot may hold (one segment has fewer than ten).
const MAX_FILES: u32 = 64;
/// Longest varint the table holds (a zigzag `i128`).
const MAX_VARINT_LEN: usize = 19;
/// Bytes of one block's directory entry.
const BLOCK_ENTRY_LEN: usize = 4 + 4 + 4;
/// Largest decoded block a reader accepts, so a forged length cannot claim huge memory.
pub(crate) const MAX_BLOCK_BYTES: u32 = 16 << 20;

/// One event's row in the list-order table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The event's id.
    pub id: u64,
    /// When it starts, in nanoseconds since the Unix epoch (comparable across offsets;
    /// an `i64` spans the years 1678 to 2262).
    pub starts_at: i64,
}

/// The table's bytes for these entries.
#[cfg(feature = "build")]
pub(crate) fn encode_table(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 6);
    let mut previous = Entry {
        id: 0,
        starts_at: 0,
    };
    for entry in entries {
        put_varint(
            &mut out,
            zigzag(i128::from(entry.id) - i128::from(previous.id)),
        );
        put_varint(
            &mut out,
            zigzag(i128::from(entry.starts_at) - i128::from(previous.starts_at)),
        );
        previous = *entry;
    }
    out
}

/// The entries of a table's bytes, which must hold exactly `count` of them.
pub(crate) fn decode_table(bytes: &[u8], count: usize) -> Result<Vec<Entry>> {
    let corrupt = || Error::Corrupt("the list-order table does not decode");
    let mut entries = Vec::with_capacity(count.min(bytes.len() / 2));
    let mut at = 0;
    let mut previous = Entry {
        id: 0,
        starts_at: 0,
    };
    for _ in 0..count {
        let id =
            i128::from(previous.id) + unzigzag(take_varint(bytes, &mut at).ok_or_else(corrupt)?);
        let starts_at = i128::from(previous.starts_at)
            + unzigzag(take_varint(bytes, &mut at).ok_or_else(corrupt)?);
        let entry = Entry {
            id: u64::try_from(id).map_err(|_| corrupt())?,
            starts_at: i64::try_from(starts_at).map_err(|_| corrupt())?,
        };
        entries.push(entry);
        previous = entry;
    }
    if at != bytes.len() {
        return Err(corrupt());
    }
    Ok(entries)
}

#[cfg(feature = "build")]
fn zigzag(value: i128) -> u128 {
    ((value << 1) ^ (value >> 127)) as u128
}

fn unzigzag(value: u128) -> i128 {
    ((value >> 1) as i128) ^ -((value & 1) as i128)
}

#[cfg(feature = "build")]
fn put_varint(out: &mut Vec<u8>, mut value: u128) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The varint at `at`, moving `at` past it; `None` if it is cut short or too long.
fn take_varint(bytes: &[u8], at: &mut usize) -> Option<u128> {
    let mut value = 0u128;
    for (i, &byte) in bytes.get(*at..)?.iter().take(MAX_VARINT_LEN).enumerate() {
        value |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *at += i + 1;
            return Some(value);
        }
    }
    None
}

/// Where one compressed block is and what it must decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// The compressed bytes' range in the blob.
    pub range: Range<usize>,
    /// How long the block is decoded.
    pub decoded_len: u32,
    /// CRC-32 of the compressed bytes.
    pub checksum: u32,
}

/// Where the parts of a checked blob are.
#[derive(Debug)]
pub(crate) struct Parts {
    /// The snapshot's version.
    pub version: u64,
    /// Events per block.
    pub block_events: u32,
    /// Each index file's name and byte range.
    pub files: Vec<(String, Range<usize>)>,
    /// The byte range of the catalogue's JSON.
    pub catalogue: Range<usize>,
    /// The list-order table.
    pub entries: Vec<Entry>,
    /// The blocks, in list order; their ranges are in the whole blob.
    pub blocks: Vec<Block>,
    /// How long the head is, its checksum included: the blob's first bytes that a reader
    /// keeps whole.
    pub head_len: usize,
}

/// What bytes a reader has of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Have {
    /// The whole blob: the head and every block.
    Whole,
    /// The head alone (through its checksum): blocks are read later, by their ranges.
    Head,
}

/// Checks a blob's head (magic, format, checksum, every length) and says where its parts
/// are. The blocks' own checksums are left to [`check_blocks`].
pub(crate) fn parse(bytes: &[u8], have: Have) -> Result<Parts> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::NotASnapshot);
    }
    if bytes.len() < HEADER_LEN {
        return Err(Error::Corrupt("truncated header"));
    }
    let mut cursor = Cursor::new(bytes, MAGIC.len());
    let format = cursor.u32()?;
    if format != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            found: format,
            supported: FORMAT_VERSION,
        });
    }
    let version = cursor.u64()?;
    let event_count = cursor.length()?;
    let block_events = cursor.u32()?;
    let block_count = cursor.u32()? as usize;
    let file_count = cursor.u32()?;
    if file_count > MAX_FILES {
        return Err(Error::Corrupt("too many index files"));
    }
    if block_events == 0 || event_count.div_ceil(block_events as usize) != block_count {
        return Err(Error::Corrupt(
            "the block count does not fit the event count",
        ));
    }
    let mut files = Vec::with_capacity(file_count as usize);
    for _ in 0..file_count {
        let name_len = usize::from(cursor.u16()?);
        let name = std::str::from_utf8(&bytes[cursor.take(name_len)?])
            .map_err(|_| Error::Corrupt("an index file name is not UTF-8"))?;
        if name.is_empty() || files.iter().any(|(known, _)| known == name) {
            return Err(Error::Corrupt("an index file name is empty or repeated"));
        }
        let name = name.to_string();
        let data_len = cursor.length()?;
        files.push((name, cursor.take(data_len)?));
    }
    let catalogue_len = cursor.length()?;
    let catalogue = cursor.take(catalogue_len)?;

    let table_len = cursor.length()?;
    let table = cursor.take(table_len)?;
    let entries = decode_table(&bytes[table], event_count)?;
    let directory = cursor.take(block_count * BLOCK_ENTRY_LEN)?;
    let head_len = cursor.position;
    let checksum = cursor.u32()?;
    if crc32fast::hash(&bytes[..head_len]) != checksum {
        return Err(Error::Corrupt(
            "head checksum mismatch: the snapshot is truncated or damaged",
        ));
    }

    let mut blocks = Vec::with_capacity(block_count);
    let mut position = cursor.position;
    for entry in bytes[directory].chunks_exact(BLOCK_ENTRY_LEN) {
        let field = |at: usize| u32::from_le_bytes(entry[at..at + 4].try_into().expect("4 bytes"));
        let decoded_len = field(4);
        if decoded_len > MAX_BLOCK_BYTES {
            return Err(Error::Corrupt("a block is larger than any snapshot writes"));
        }
        let end = position
            .checked_add(field(0) as usize)
            .ok_or(Error::Corrupt("a length points past the end"))?;
        blocks.push(Block {
            range: position..end,
            decoded_len,
            checksum: field(8),
        });
        position = end;
    }
    let expected_len = match have {
        Have::Whole => position,
        Have::Head => cursor.position,
    };
    if bytes.len() < expected_len {
        return Err(Error::Corrupt("a length points past the end"));
    }
    if bytes.len() > expected_len {
        return Err(Error::Corrupt("bytes after the last block"));
    }
    Ok(Parts {
        version,
        block_events,
        files,
        catalogue,
        entries,
        blocks,
        head_len: cursor.position,
    })
}

/// Checks every block against its checksum.
pub(crate) fn check_blocks(bytes: &[u8], blocks: &[Block]) -> Result<()> {
    for block in blocks {
        check_block(&bytes[block.range.clone()], block.checksum)?;
    }
    Ok(())
}

/// Checks one block's compressed bytes against its checksum.
pub(crate) fn check_block(compressed: &[u8], checksum: u32) -> Result<()> {
    if crc32fast::hash(compressed) != checksum {
        return Err(Error::Corrupt(
            "block checksum mismatch: the snapshot is truncated or damaged",
        ));
    }
    Ok(())
}

/// What a snapshot's parts are when written.
#[cfg(feature = "build")]
pub(crate) struct Contents<'a> {
    /// The snapshot's version.
    pub version: u64,
    /// The index files.
    pub files: &'a [(String, tantivy::directory::OwnedBytes)],
    /// The catalogue's JSON.
    pub catalogue: &'a [u8],
    /// The list-order table.
    pub entries: &'a [Entry],
    /// Events per block.
    pub block_events: u32,
    /// Each block: its compressed bytes and decoded length.
    pub blocks: &'a [(Vec<u8>, u32)],
}

/// Writes a blob.
#[cfg(feature = "build")]
pub(crate) fn write(contents: &Contents<'_>) -> Result<Vec<u8>> {
    let files_len: usize = contents
        .files
        .iter()
        .map(|(name, data)| 2 + name.len() + 8 + data.len())
        .sum();
    let blocks_len: usize = contents.blocks.iter().map(|(data, _)| data.len()).sum();
    let mut out = Vec::with_capacity(
        HEADER_LEN
            + files_len
            + 8
            + contents.catalogue.len()
            + 8
            + contents.entries.len() * 6
            + contents.blocks.len() * BLOCK_ENTRY_LEN
            + 4
            + blocks_len,
    );
    let file_count = u32::try_from(contents.files.len())
        .ok()
        .filter(|&count| count <= MAX_FILES)
        .ok_or(Error::Corrupt("the index has too many files"))?;
    let block_count = u32::try_from(contents.blocks.len())
        .map_err(|_| Error::Corrupt("the snapshot has too many blocks"))?;
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&contents.version.to_le_bytes());
    out.extend_from_slice(&(contents.entries.len() as u64).to_le_bytes());
    out.extend_from_slice(&contents.block_events.to_le_bytes());
    out.extend_from_slice(&block_count.to_le_bytes());
    out.extend_from_slice(&file_count.to_le_bytes());
    for (name, data) in contents.files {
        let name_len =
            u16::try_from(name.len()).map_err(|_| Error::Corrupt("index file name too long"))?;
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data.as_slice());
    }
    out.extend_from_slice(&(contents.catalogue.len() as u64).to_le_bytes());
    out.extend_from_slice(contents.catalogue);
    let table = encode_table(contents.entries);
    out.extend_from_slice(&(table.len() as u64).to_le_bytes());
    out.extend_from_slice(&table);
    for (data, decoded_len) in contents.blocks {
        let len = u32::try_from(data.len()).map_err(|_| Error::Corrupt("a block is too large"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&decoded_len.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    }
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    for (data, _) in contents.blocks {
        out.extend_from_slice(data);
    }
    Ok(out)
}

/// Reads little-endian integers and byte ranges, never past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], position: usize) -> Self {
        Cursor { bytes, position }
    }

    /// The range of the next `len` bytes, which must all be there.
    fn take(&mut self, len: usize) -> Result<Range<usize>> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(Error::Corrupt("a length points past the end"))?;
        let range = self.position..end;
        self.position = end;
        Ok(range)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let range = self.take(N)?;
        let mut array = [0; N];
        array.copy_from_slice(&self.bytes[range]);
        Ok(array)
    }

    fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A `u64` length that must fit in memory (it cannot on wasm32 if over 4 GiB).
    fn length(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| Error::Corrupt("a length does not fit in memory"))
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    use tantivy::directory::OwnedBytes;

    use super::*;

    fn sample() -> Vec<u8> {
        let files = vec![
            ("meta.json".to_string(), OwnedBytes::new(b"{}".to_vec())),
            ("a.idx".to_string(), OwnedBytes::new(vec![1, 2, 3])),
        ];
        let entries = [
            Entry {
                id: 4,
                starts_at: 10,
            },
            Entry {
                id: 2,
                starts_at: 11,
            },
            Entry {
                id: 9,
                starts_at: 11,
            },
        ];
        write(&Contents {
            version: 7,
            files: &files,
            catalogue: b"{}",
            entries: &entries,
            block_events: 2,
            blocks: &[(vec![5, 6, 7], 30), (vec![8], 20)],
        })
        .unwrap()
    }

    /// Where the head's checksum is in [`sample`].
    fn head_len(bytes: &[u8]) -> usize {
        bytes.len() - 4 - 4
    }

    /// Recomputes the head's checksum, so a test can reach the checks behind it.
    fn reseal(mut bytes: Vec<u8>, head_len: usize) -> Vec<u8> {
        let checksum = crc32fast::hash(&bytes[..head_len]);
        bytes[head_len..head_len + 4].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let parts = parse(&bytes, Have::Whole).unwrap();
        assert_eq!(parts.version, 7);
        assert_eq!(parts.block_events, 2);
        let names: Vec<_> = parts.files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["meta.json", "a.idx"]);
        assert_eq!(&bytes[parts.files[1].1.clone()], &[1, 2, 3]);
        assert_eq!(&bytes[parts.catalogue.clone()], b"{}");
        let ids: Vec<u64> = parts.entries.iter().map(|entry| entry.id).collect();
        assert_eq!(ids, [4, 2, 9]);
        assert_eq!(parts.entries[2].starts_at, 11);
        assert_eq!(&bytes[parts.blocks[0].range.clone()], &[5, 6, 7]);
        assert_eq!(&bytes[parts.blocks[1].range.clone()], &[8]);
        assert_eq!(parts.blocks[0].decoded_len, 30);
        check_blocks(&bytes, &parts.blocks).unwrap();

        let head = parse(&bytes[..parts.head_len], Have::Head).unwrap();
        assert_eq!(head.blocks, parts.blocks);
        assert_eq!(head.head_len, parts.head_len);
        assert!(parse(&bytes[..parts.head_len - 1], Have::Head).is_err());
        assert!(parse(&bytes[..parts.head_len + 1], Have::Head).is_err());
    }

    #[test]
    fn the_table_round_trips_any_ids_and_starts() {
        let entries = [
            Entry {
                id: u64::MAX,
                starts_at: i64::MIN,
            },
            Entry {
                id: 0,
                starts_at: -5,
            },
            Entry {
                id: 7,
                starts_at: i64::MAX,
            },
        ];
        let bytes = encode_table(&entries);
        assert_eq!(decode_table(&bytes, 3).unwrap(), entries);
        assert!(decode_table(&bytes, 2).is_err(), "bytes left over");
        assert!(decode_table(&bytes, 4).is_err(), "cut short");
        assert!(decode_table(&[0xff; 40], 1).is_err(), "a varint too long");
        let small = encode_table(&[Entry {
            id: 1_000,
            starts_at: 1_800_000_000_000_000_000,
        }]);
        assert!(small.len() <= 12, "{} bytes", small.len());
    }

    #[test]
    fn rejects_other_bytes_and_formats() {
        assert!(matches!(parse(b"", Have::Whole), Err(Error::NotASnapshot)));
        assert!(matches!(
            parse(b"<html>...", Have::Whole),
            Err(Error::NotASnapshot)
        ));
        let mut older = sample();
        older[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(
            parse(&older, Have::Whole),
            Err(Error::UnsupportedFormat {
                found: 1,
                supported: 2
            })
        ));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(
                parse(&bytes[..len], Have::Whole).is_err(),
                "truncated to {len}"
            );
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let caught = parse(&damaged, Have::Whole)
                .and_then(|parts| check_blocks(&damaged, &parts.blocks))
                .is_err();
            assert!(caught, "flipped byte {at}");
        }
    }

    #[test]
    fn lengths_are_checked_even_with_a_valid_checksum() {
        let bytes = sample();
        let head = head_len(&bytes);
        let name_len_at = HEADER_LEN;
        let data_len_at = HEADER_LEN + 2 + "meta.json".len();
        let file_count_at = HEADER_LEN - 4;
        let block_count_at = HEADER_LEN - 8;
        let first_block_at = head - 2 * BLOCK_ENTRY_LEN;
        for (at, value) in [
            (name_len_at, u16::MAX.to_le_bytes().to_vec()),
            (data_len_at, u64::MAX.to_le_bytes().to_vec()),
            (data_len_at, (1u64 << 40).to_le_bytes().to_vec()),
            (file_count_at, u32::MAX.to_le_bytes().to_vec()),
            (file_count_at, 1u32.to_le_bytes().to_vec()),
            (block_count_at, 3u32.to_le_bytes().to_vec()),
            (first_block_at, 4u32.to_le_bytes().to_vec()),
            (first_block_at + 4, u32::MAX.to_le_bytes().to_vec()),
        ] {
            let mut forged = bytes.clone();
            forged[at..at + value.len()].copy_from_slice(&value);
            assert!(
                matches!(
                    parse(&reseal(forged, head), Have::Whole),
                    Err(Error::Corrupt(_))
                ),
                "forged {value:?} at {at}"
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            parse(&trailing, Have::Whole),
            Err(Error::Corrupt(_))
        ));
    }
}
