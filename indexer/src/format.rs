//! The snapshot container: one blob per version.
//!
//! All integers are little-endian:
//!
//! ```text
//! magic          8 bytes  "ONSALESN"
//! format         u32      FORMAT_VERSION
//! version        u64      the snapshot's version
//! event count    u64      how many event documents follow
//! file count     u32      how many index files follow
//! file × count   name length u16, name (UTF-8), data length u64, data
//! documents      length u64, a JSON array of the events in (starts_at, id) order
//! checksum       u32      CRC-32 (IEEE) of every byte before it
//! ```
//!
//! The index files come before the documents so that a reader can drop the documents'
//! bytes once it has parsed them and keep the rest of the buffer for the index without copying it.

use std::ops::Range;

use crate::error::{Error, Result};

/// The first bytes of every snapshot.
const MAGIC: &[u8; 8] = b"ONSALESN";
/// The container format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Magic, format, version, event count, file count.
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 4;
/// Most index files a snapshot may hold (one segment has fewer than ten).
const MAX_FILES: u32 = 64;

/// Where the parts of a checked blob are.
#[derive(Debug)]
pub(crate) struct Parts {
    /// The snapshot's version.
    pub version: u64,
    /// How many events the documents hold.
    pub event_count: u64,
    /// Each index file's name and byte range.
    pub files: Vec<(String, Range<usize>)>,
    /// Where the index files end (and the documents' length starts).
    pub files_end: usize,
    /// The byte range of the JSON documents.
    pub documents: Range<usize>,
}

/// Checks a blob (magic, format, checksum, every length) and says where its parts are.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parts> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::NotASnapshot);
    }
    let mut header = Cursor::new(bytes, MAGIC.len());
    let format = header.u32()?;
    if format != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            found: format,
            supported: FORMAT_VERSION,
        });
    }
    let body_len = bytes
        .len()
        .checked_sub(4)
        .filter(|&len| len >= HEADER_LEN)
        .ok_or(Error::Corrupt("truncated header"))?;
    let (body, checksum) = bytes.split_at(body_len);
    if crc32fast::hash(body).to_le_bytes() != checksum {
        return Err(Error::Corrupt(
            "checksum mismatch: the snapshot is truncated or damaged",
        ));
    }

    let mut cursor = Cursor::new(body, MAGIC.len() + 4);
    let version = cursor.u64()?;
    let event_count = cursor.u64()?;
    let file_count = cursor.u32()?;
    if file_count > MAX_FILES {
        return Err(Error::Corrupt("too many index files"));
    }
    let mut files = Vec::with_capacity(file_count as usize);
    for _ in 0..file_count {
        let name_len = usize::from(cursor.u16()?);
        let name = std::str::from_utf8(&body[cursor.take(name_len)?])
            .map_err(|_| Error::Corrupt("an index file name is not UTF-8"))?;
        if name.is_empty() || files.iter().any(|(known, _)| known == name) {
            return Err(Error::Corrupt("an index file name is empty or repeated"));
        }
        let name = name.to_string();
        let data_len = cursor.length()?;
        files.push((name, cursor.take(data_len)?));
    }
    let files_end = cursor.position;
    let documents_len = cursor.length()?;
    let documents = cursor.take(documents_len)?;
    if cursor.position != body.len() {
        return Err(Error::Corrupt("bytes after the documents"));
    }
    Ok(Parts {
        version,
        event_count,
        files,
        files_end,
        documents,
    })
}

/// Writes a blob.
#[cfg(feature = "build")]
pub(crate) fn write(
    version: u64,
    event_count: u64,
    files: &[(String, tantivy::directory::OwnedBytes)],
    documents: &[u8],
) -> Result<Vec<u8>> {
    let files_len: usize = files
        .iter()
        .map(|(name, data)| 2 + name.len() + 8 + data.len())
        .sum();
    let mut out = Vec::with_capacity(HEADER_LEN + files_len + 8 + documents.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&event_count.to_le_bytes());
    let file_count = u32::try_from(files.len())
        .ok()
        .filter(|&count| count <= MAX_FILES)
        .ok_or(Error::Corrupt("the index has too many files"))?;
    out.extend_from_slice(&file_count.to_le_bytes());
    for (name, data) in files {
        let name_len =
            u16::try_from(name.len()).map_err(|_| Error::Corrupt("index file name too long"))?;
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data.as_slice());
    }
    out.extend_from_slice(&(documents.len() as u64).to_le_bytes());
    out.extend_from_slice(documents);
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
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
        write(7, 0, &files, b"[]").unwrap()
    }

    /// Recomputes the checksum, so a test can reach the checks behind it.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let body_len = bytes.len() - 4;
        let checksum = crc32fast::hash(&bytes[..body_len]);
        bytes[body_len..].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let parts = parse(&bytes).unwrap();
        assert_eq!(parts.version, 7);
        assert_eq!(parts.event_count, 0);
        let names: Vec<_> = parts.files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["meta.json", "a.idx"]);
        assert_eq!(&bytes[parts.files[1].1.clone()], &[1, 2, 3]);
        assert_eq!(&bytes[parts.documents.clone()], b"[]");
        assert_eq!(parts.files_end + 8, parts.documents.start);
    }

    #[test]
    fn rejects_other_bytes_and_formats() {
        assert!(matches!(parse(b""), Err(Error::NotASnapshot)));
        assert!(matches!(parse(b"<html>..."), Err(Error::NotASnapshot)));
        let mut future = sample();
        future[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            parse(&future),
            Err(Error::UnsupportedFormat {
                found: 2,
                supported: 1
            })
        ));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(parse(&damaged).is_err(), "flipped byte {at}");
        }
    }

    #[test]
    fn lengths_are_checked_even_with_a_valid_checksum() {
        let bytes = sample();
        let name_len_at = HEADER_LEN;
        let data_len_at = HEADER_LEN + 2 + "meta.json".len();
        let file_count_at = HEADER_LEN - 4;
        for (at, value) in [
            (name_len_at, u16::MAX.to_le_bytes().to_vec()),
            (data_len_at, u64::MAX.to_le_bytes().to_vec()),
            (data_len_at, (1u64 << 40).to_le_bytes().to_vec()),
            (file_count_at, u32::MAX.to_le_bytes().to_vec()),
            (file_count_at, 1u32.to_le_bytes().to_vec()),
        ] {
            let mut forged = bytes.clone();
            forged[at..at + value.len()].copy_from_slice(&value);
            assert!(
                matches!(parse(&reseal(forged)), Err(Error::Corrupt(_))),
                "forged {value:?} at {at}"
            );
        }
        let mut trailing = bytes.clone();
        trailing.insert(bytes.len() - 4, 0);
        assert!(matches!(parse(&reseal(trailing)), Err(Error::Corrupt(_))));
    }
}
