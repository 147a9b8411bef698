//! Object names, relative to the store's prefix: `images/{hash}/original.{jpg|png|webp}`
//! and `images/{hash}/{width}.{jpg|png}`, where `hash` is the first 32 hex digits of the
//! SHA-256 of the uploaded bytes. The same bytes always get the same names, so a name's
//! content never changes.

use sha2::{Digest, Sha256};

use crate::process::{Kind, VARIANT_WIDTHS};

/// Hex digits of the hash kept in names: 128 bits, far beyond any chance of a collision.
const HASH_LEN: usize = 32;

/// The content address of an upload.
pub(crate) fn hash(bytes: &[u8]) -> String {
    let mut hex = format!("{:x}", Sha256::digest(bytes));
    hex.truncate(HASH_LEN);
    hex
}

/// The folder holding every file of one upload.
pub(crate) fn folder(hash: &str) -> String {
    format!("images/{hash}")
}

/// The name of the upload itself.
pub(crate) fn original(hash: &str, kind: Kind) -> String {
    format!("images/{hash}/original.{}", kind.extension())
}

/// The name of a resized variant.
pub(crate) fn variant(hash: &str, width: u32, kind: Kind) -> String {
    format!("images/{hash}/{width}.{}", kind.extension())
}

/// The kind of file a name holds if it is one this crate writes, `None` for any other
/// name: no `..`, no other folders, no listing.
pub(crate) fn parse(name: &str) -> Option<Kind> {
    let mut parts = name.split('/');
    let (Some("images"), Some(hash), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if hash.len() != HASH_LEN || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let (stem, extension) = file.split_once('.')?;
    let kind = Kind::from_extension(extension)?;
    let is_variant = VARIANT_WIDTHS.iter().any(|width| width.to_string() == stem);
    match kind {
        _ if stem == "original" => Some(kind),
        Kind::Jpeg | Kind::Png if is_variant => Some(kind),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn hashes_are_32_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223");
    }

    #[test]
    fn accepts_the_names_it_writes() {
        for kind in [Kind::Jpeg, Kind::Png, Kind::WebP] {
            assert_eq!(parse(&original(HASH, kind)), Some(kind));
        }
        assert_eq!(parse(&variant(HASH, 640, Kind::Jpeg)), Some(Kind::Jpeg));
        assert_eq!(parse(&variant(HASH, 1280, Kind::Png)), Some(Kind::Png));
    }

    #[test]
    fn refuses_every_other_name() {
        for name in [
            "../etc/passwd",
            "images/../../etc/passwd",
            &format!("images/{HASH}/../../../etc/passwd"),
            &format!("images/{HASH}/..%2F..%2Fetc%2Fpasswd.jpg"),
            &format!("/images/{HASH}/original.jpg"),
            &format!("images/{HASH}//original.jpg"),
            &format!("images/{HASH}/original.jpg/x"),
            &format!("images/{HASH}/original.gif"),
            &format!("images/{HASH}/original"),
            &format!("images/{HASH}/640.webp"),
            &format!("images/{HASH}/641.jpg"),
            &format!("images/{HASH}/0640.jpg"),
            &format!("images/{HASH}/"),
            &format!("images/{HASH}"),
            &format!("images/{}/original.jpg", HASH.to_uppercase()),
            &format!("images/{HASH}0/original.jpg"),
            "images/ab/original.jpg",
            "images",
            "",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }
}
