//! Where snapshots live, relative to a root that is a folder ([`crate::SnapshotFolder`]) or a
//! URL the edge fetches from:
//!
//! ```text
//! latest                     the newest version, as decimal text and a newline; short cache
//! snapshots/{version}.snap   the blob of that version; immutable, cache forever
//! snapshots/{version}.head   its first bytes: the head, without the document blocks
//! regions/{name}/            one region's events, laid out the same way, same versions
//! ```
//!
//! An edge that holds the head alone reads document blocks as byte ranges of the blob. The
//! root holds every event (what an "anywhere" search reads); a region, where the operator
//! names some (`onsale index --region europe=Berlin,Paris`), holds its cities' events,
//! and every version is published in every region before the root's `latest` names it.

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

/// The folder of the regions.
pub const REGIONS: &str = "regions";

/// Longest region name.
pub const MAX_REGION_NAME: usize = 40;

/// The root of a region's snapshots, relative to the root, with a trailing slash: prefix
/// it to the other paths. The name must be [`is_region_name`].
pub fn region_root(name: &str) -> String {
    format!("{REGIONS}/{name}/")
}

/// What a reader asks for to mean every region (`?region=all`): no region is named so.
pub const EVERY_REGION: &str = "all";

/// Whether `name` can name a region: 1 to [`MAX_REGION_NAME`] lowercase ASCII letters,
/// digits and inner hyphens (it is a path segment and a query parameter's value), and not
/// [`EVERY_REGION`].
pub fn is_region_name(name: &str) -> bool {
    (1..=MAX_REGION_NAME).contains(&name.len())
        && name != EVERY_REGION
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
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
        assert_eq!(region_root("europe"), "regions/europe/");
        for bad in [&b""[..], b"-1", b"7 8", b"\xff", b"0x10"] {
            assert!(parse_latest(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn region_names_are_path_segments() {
        for good in ["europe", "us-east-1", "x", &"a".repeat(MAX_REGION_NAME)] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "all",
            "Europe",
            "-a",
            "a-",
            "a/b",
            "..",
            "a b",
            "é",
            &"a".repeat(41),
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
