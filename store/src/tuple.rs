//! Order-preserving key encoding: FoundationDB's tuple layer, reduced to the types the
//! records use.
//!
//! Unsigned integers are fixed-width big-endian, signed integers big-endian with the sign
//! bit flipped, byte and text strings escaped (`0x00` → `0x00 0xFF`) and terminated by
//! `0x00`, and a tuple is its elements one after the other. Byte order of the encoding is
//! therefore the order of the values, element by element, and an encoded tuple is a prefix
//! of the encoding of every longer tuple that starts with it: range scans follow the order
//! of the values, and a partial tuple names the range of every key that extends it.
//!
//! [`Pack`] is parameterised by the key type it encodes as, so a borrowed form packs as its
//! owned key (`str` as a `String` key, `(u64, &str)` as a `(u64, String)` key) and a table
//! can be read without allocating its key type. [`Unpack`] decodes the owned key type.

/// Writes a value in the encoding of key type `K`.
pub trait Pack<K: ?Sized> {
    /// Appends the encoding to `out`.
    fn pack(&self, out: &mut Vec<u8>);
}

/// A key type that can be read back from its encoding.
pub trait Unpack: Pack<Self> + Sized {
    /// Decodes one value from the front of `input`, advancing it past what was read.
    fn unpack(input: &mut &[u8]) -> Option<Self>;
}

/// Packs `value` as a key of type `K` after `prefix`.
pub fn pack<K: ?Sized, Q: Pack<K> + ?Sized>(prefix: &[u8], value: &Q) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 32);
    key.extend_from_slice(prefix);
    value.pack(&mut key);
    key
}

/// Decodes a whole key of type `K` (nothing may follow it).
pub fn unpack<K: Unpack>(mut input: &[u8]) -> Option<K> {
    let value = K::unpack(&mut input)?;
    input.is_empty().then_some(value)
}

/// The first key after every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

impl<K: ?Sized, Q: Pack<K> + ?Sized> Pack<K> for &Q {
    fn pack(&self, out: &mut Vec<u8>) {
        (**self).pack(out);
    }
}

/// Takes `N` bytes from the front of `input`.
fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = input.split_first_chunk::<N>()?;
    *input = rest;
    Some(*head)
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Pack<$t> for $t {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }

        impl Unpack for $t {
            fn unpack(input: &mut &[u8]) -> Option<Self> {
                Some(<$t>::from_be_bytes(take(input)?))
            }
        }
    )*};
}

unsigned!(u8, u32, u64, u128);

impl Pack<i64> for i64 {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&((*self as u64) ^ (1 << 63)).to_be_bytes());
    }
}

impl Unpack for i64 {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        Some((u64::from_be_bytes(take(input)?) ^ (1 << 63)) as i64)
    }
}

impl Pack<Vec<u8>> for [u8] {
    fn pack(&self, out: &mut Vec<u8>) {
        for &b in self {
            out.push(b);
            if b == 0 {
                out.push(0xff);
            }
        }
        out.push(0);
    }
}

impl Pack<Vec<u8>> for Vec<u8> {
    fn pack(&self, out: &mut Vec<u8>) {
        self.as_slice().pack(out);
    }
}

impl Unpack for Vec<u8> {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        let mut out = Vec::new();
        let mut bytes = input.iter().enumerate();
        while let Some((i, &b)) = bytes.next() {
            if b != 0 {
                out.push(b);
            } else if input.get(i + 1) == Some(&0xff) {
                out.push(0);
                bytes.next();
            } else {
                *input = &input[i + 1..];
                return Some(out);
            }
        }
        None
    }
}

impl Pack<String> for str {
    fn pack(&self, out: &mut Vec<u8>) {
        Pack::<Vec<u8>>::pack(self.as_bytes(), out);
    }
}

impl Pack<String> for String {
    fn pack(&self, out: &mut Vec<u8>) {
        Pack::<String>::pack(self.as_str(), out);
    }
}

impl Unpack for String {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        String::from_utf8(Vec::<u8>::unpack(input)?).ok()
    }
}

/// The empty tuple: the whole table, as a prefix.
impl Pack<()> for () {
    fn pack(&self, _out: &mut Vec<u8>) {}
}

impl Unpack for () {
    fn unpack(_input: &mut &[u8]) -> Option<Self> {
        Some(())
    }
}

macro_rules! tuple {
    ($(($k:ident, $q:ident, $i:tt)),*) => {
        impl<$($k, $q: Pack<$k>),*> Pack<($($k,)*)> for ($($q,)*) {
            fn pack(&self, out: &mut Vec<u8>) {
                $(self.$i.pack(out);)*
            }
        }

        impl<$($k: Unpack),*> Unpack for ($($k,)*) {
            fn unpack(input: &mut &[u8]) -> Option<Self> {
                Some(($($k::unpack(input)?,)*))
            }
        }
    };
}

tuple!((A, QA, 0), (B, QB, 1));
tuple!((A, QA, 0), (B, QB, 1), (C, QC, 2));

#[cfg(test)]
mod tests {
    use super::*;

    fn key<K, Q: Pack<K> + ?Sized>(value: &Q) -> Vec<u8> {
        pack(&[0x20], value)
    }

    #[test]
    fn integers_sort_like_numbers() {
        let values = [i64::MIN, -5, -1, 0, 3, i64::MAX];
        let mut keys: Vec<_> = values.iter().rev().map(|n| key(&(*n, 1u64))).collect();
        keys.sort();
        let expected: Vec<_> = values.iter().map(|n| key(&(*n, 1u64))).collect();
        assert_eq!(keys, expected);
        for n in values {
            assert_eq!(unpack::<(i64, u64)>(&key(&(n, 1u64))[1..]), Some((n, 1)));
        }
    }

    #[test]
    fn strings_are_prefix_free_and_round_trip() {
        let a = key::<String, _>("ab");
        let b = key::<String, _>("a");
        let with_nul = key::<String, _>("a\0b");
        assert!(b < with_nul && with_nul < a);
        assert!(!a.starts_with(&b));
        assert_eq!(unpack::<String>(&with_nul[1..]).as_deref(), Some("a\0b"));
        assert_eq!(unpack::<String>(b"a"), None, "unterminated");
    }

    #[test]
    fn borrowed_forms_pack_like_owned_keys() {
        let owned = key::<(u64, String), _>(&(7u64, "x".to_string()));
        assert_eq!(key::<(u64, String), _>(&(7u64, "x")), owned);
        assert_eq!(owned, [&[0x20][..], &7u64.to_be_bytes(), b"x\0"].concat());
        let partial = key::<u64, _>(&7u64);
        assert!(owned.starts_with(&partial));
        assert_eq!(unpack::<(i64, String)>(b"x"), None, "short integer");
    }

    #[test]
    fn prefix_end_skips_ff() {
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
        assert_eq!(prefix_end(&[1, 2]), vec![1, 3]);
    }
}
