//! How a table's values are written: JSON documents, nothing at all (index entries), text,
//! raw bytes, or the little-endian counters of [`Tx::add`](crate::Tx::add).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a value does not encode or decode.
pub type CodecError = Box<dyn std::error::Error + Send + Sync>;

/// Encodes and decodes the values of type `V`.
pub trait Codec<V> {
    /// The stored form of `value`.
    fn encode(value: &V) -> Result<Vec<u8>, CodecError>;
    /// The value stored as `bytes`.
    fn decode(bytes: &[u8]) -> Result<V, CodecError>;
}

/// Values as JSON documents (the default).
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl<V: Serialize + DeserializeOwned> Codec<V> for Json {
    fn encode(value: &V) -> Result<Vec<u8>, CodecError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode(bytes: &[u8]) -> Result<V, CodecError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

/// No value: an index entry, whose key is all there is.
#[derive(Debug, Clone, Copy)]
pub struct Empty;

impl Codec<()> for Empty {
    fn encode(_value: &()) -> Result<Vec<u8>, CodecError> {
        Ok(Vec::new())
    }

    fn decode(_bytes: &[u8]) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Bytes as they are.
#[derive(Debug, Clone, Copy)]
pub struct Raw;

impl Codec<Vec<u8>> for Raw {
    fn encode(value: &Vec<u8>) -> Result<Vec<u8>, CodecError> {
        Ok(value.clone())
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
        Ok(bytes.to_vec())
    }
}

/// A signed 64-bit counter, little-endian, as [`Tx::add`](crate::Tx::add) writes it; an
/// absent or short value reads as 0.
#[derive(Debug, Clone, Copy)]
pub struct Counter;

impl Codec<i64> for Counter {
    fn encode(value: &i64) -> Result<Vec<u8>, CodecError> {
        Ok(value.to_le_bytes().to_vec())
    }

    fn decode(bytes: &[u8]) -> Result<i64, CodecError> {
        Ok(decode_counter(Some(bytes)))
    }
}

/// Reads the little-endian counter written by [`Tx::add`](crate::Tx::add).
pub fn decode_counter(value: Option<&[u8]>) -> i64 {
    match value {
        Some(bytes) if bytes.len() >= 8 => {
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[..8]);
            i64::from_le_bytes(le)
        }
        _ => 0,
    }
}

/// Text as its UTF-8 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Text;

impl Codec<String> for Text {
    fn encode(value: &String) -> Result<Vec<u8>, CodecError> {
        Ok(value.as_bytes().to_vec())
    }

    fn decode(bytes: &[u8]) -> Result<String, CodecError> {
        Ok(String::from_utf8(bytes.to_vec())?)
    }
}
