//! The change log's place in the store: entries under one prefix, keyed by the
//! [`LogPosition`] the backend stamps at commit ([`Tx::append_log`]), and a typed view of
//! them ([`ChangeLog`]).

use std::marker::PhantomData;

pub use onsale_model::LogPosition;

use crate::codec::{Codec, Json};
use crate::tuple::{Pack, Unpack, prefix_end};
use crate::{RangeRead, Result, StoreError, Table, Tx};

/// The prefix of every change-log key; backends that stamp positions at commit use it.
pub const LOG_PREFIX: &[u8] = &[0x7f];

/// The change-log entries, by position, as the bytes appended.
const ENTRIES: Table<LogPosition, Vec<u8>, crate::codec::Raw> = Table::new(LOG_PREFIX);

/// A position is its 12 bytes, unescaped (it is fixed-width).
impl Pack<LogPosition> for LogPosition {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Unpack for LogPosition {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        let (head, rest) = input.split_first_chunk::<12>()?;
        *input = rest;
        Some(LogPosition(*head))
    }
}

/// Whether `key` is a change-log entry's.
pub fn is_log(key: &[u8]) -> bool {
    key.starts_with(LOG_PREFIX)
}

/// The key of the change-log entry at `position`.
pub fn key(position: LogPosition) -> Vec<u8> {
    ENTRIES.key(&position)
}

/// The position inside a change-log key.
pub fn position(key: &[u8]) -> Option<LogPosition> {
    ENTRIES.unpack_key(key)
}

/// Every change-log entry; read it reversed with limit 1 for the newest.
pub fn all() -> RangeRead {
    ENTRIES.all()
}

/// Change-log entries after `position` (exclusive).
pub fn after(position: Option<LogPosition>) -> RangeRead {
    let begin = match position {
        Some(p) => {
            let mut begin = key(p);
            begin.push(0);
            begin
        }
        None => LOG_PREFIX.to_vec(),
    };
    RangeRead::new(begin, prefix_end(LOG_PREFIX))
}

/// The change log with entries of type `V`, encoded by `C`.
pub struct ChangeLog<V, C = Json> {
    types: PhantomData<fn() -> (V, C)>,
}

impl<V, C> std::fmt::Debug for ChangeLog<V, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeLog")
    }
}

impl<V, C: Codec<V>> ChangeLog<V, C> {
    /// The log (there is one per store; this only fixes the entries' type).
    pub const fn new() -> Self {
        ChangeLog { types: PhantomData }
    }

    /// Appends `entry`; it gets its position when the transaction commits.
    pub fn append(&self, tx: &dyn Tx, entry: &V) -> Result<()> {
        let bytes = C::encode(entry).map_err(|e| StoreError::corrupt(LOG_PREFIX, e))?;
        tx.append_log(&bytes);
        Ok(())
    }

    /// At most `limit` entries (0 = all) after `position` (exclusive), oldest first.
    pub async fn read_after(
        &self,
        tx: &dyn Tx,
        position: Option<LogPosition>,
        limit: usize,
    ) -> Result<Vec<(LogPosition, V)>> {
        ENTRIES
            .range(tx, after(position).limit(limit))
            .await?
            .into_iter()
            .map(|(at, bytes)| {
                let entry = C::decode(&bytes).map_err(|e| StoreError::corrupt(LOG_PREFIX, e))?;
                Ok((at, entry))
            })
            .collect()
    }

    /// The position of the newest entry, if any.
    pub async fn end(&self, tx: &dyn Tx) -> Result<Option<LogPosition>> {
        let last = tx.get_range(all().reverse().limit(1)).await?;
        Ok(last.first().and_then(|(key, _)| position(key)))
    }
}

impl<V, C: Codec<V>> Default for ChangeLog<V, C> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_order() {
        let p = LogPosition::new(42, 3);
        assert_eq!(position(&key(p)), Some(p));
        assert_eq!(key(p), [&[0x7f][..], &p.0].concat());
        assert!(LogPosition::new(42, 3) < LogPosition::new(43, 0));
        let rest = after(Some(p));
        assert!(rest.begin > key(p) && rest.begin < key(LogPosition::new(42, 4)));
    }
}
