//! The key encoding written out by hand, for the tables' tests to pin their keys' bytes
//! independently of [`onsale_store::tuple`]: stored keys must never change.

/// A signed integer: big-endian with the sign bit flipped.
pub(super) fn int(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// A byte or text string: `0x00` escaped as `0x00 0xFF`, then a `0x00` terminator.
pub(super) fn text(value: impl AsRef<[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in value.as_ref() {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.push(0);
    out
}
