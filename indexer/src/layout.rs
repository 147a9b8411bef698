//! Where snapshots live, relative to a root that is a folder ([`crate::SnapshotFolder`]) or a
//! URL the edge fetches from:
//!
//! ```text
//! latest                     the newest version, as decimal text and a newline; short cache
//! snapshots/{version}.snap   the blob of that version; immutable, cache forever
//! snapshots/{version}.head   its first bytes: the head, without the document blocks
//! ```
//!
//! An edge that holds the head alone reads document blocks as byte ranges of the blob.

use crate::error::{Error, Result};

/// The pointer to the newest version.
pub const LATEST: &str = "latest";

/// The folder of the blobs.
pub const SNAPSHOTS: &str = "snapshots";

/// The path of a version's blob, relative to the root.
pub fn snapshot_path(version: u64) -> String {
    format!("{SNAPSHOTS}/{version}.snap")
}

/// The path of a version's head (the blob's first bytes), relative to the root.
pub fn head_path(version: u64) -> String {
    format!("{SNAPSHOTS}/{version}.head")
}

/// What the `latest` pointer holds for a version.
pub fn latest_contents(version: u64) -> String {
    format!("{version}\n")
}

/// The version a `latest` pointer names (surrounding whitespace is ignored).
pub fn parse_latest(contents: &[u8]) -> Result<u64> {
    std::str::from_utf8(contents)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or(Error::Corrupt("the latest pointer is not a version number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_pointer() {
        assert_eq!(snapshot_path(42), "snapshots/42.snap");
        assert_eq!(head_path(42), "snapshots/42.head");
        assert_eq!(parse_latest(latest_contents(42).as_bytes()).unwrap(), 42);
        assert_eq!(parse_latest(b" 7\r\n").unwrap(), 7);
        for bad in [&b""[..], b"-1", b"7 8", b"\xff", b"0x10"] {
            assert!(parse_latest(bad).is_err(), "{bad:?}");
        }
    }
}
