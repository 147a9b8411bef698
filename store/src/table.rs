//! Typed tables: a key prefix (a subspace, in FoundationDB's terms) whose keys are tuples
//! of type `K` and whose values are `V`, written by a [`Codec`].
//!
//! A table is a constant, `const HOLDS: Table<String, Hold> = Table::new(&[0x20]);`, and a
//! transaction reads it as its logic: `HOLDS.get(tx, hold_id).await?`. Keys are packed
//! by [`tuple`], so ranges follow the order of the values and a partial tuple names every
//! key that extends it ([`Table::starting_with`]).

use std::marker::PhantomData;

use crate::codec::{Codec, Counter, Json};
use crate::tuple::{self, Pack, Unpack};
use crate::{RangeRead, Result, StoreError, Tx};

/// Marks the types a table holds without owning any (so a table is `Send`, `Sync`, `Copy`
/// and constant whatever they are).
type Holds<K, V, C> = PhantomData<fn() -> (K, V, C)>;

/// Records of one kind under one prefix: keys `K`, values `V` encoded by `C`.
pub struct Table<K, V, C = Json> {
    prefix: &'static [u8],
    types: Holds<K, V, C>,
}

impl<K, V, C> Clone for Table<K, V, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V, C> Copy for Table<K, V, C> {}

impl<K, V, C> std::fmt::Debug for Table<K, V, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({:02x?})", self.prefix)
    }
}

impl<K, V, C> Table<K, V, C> {
    /// The table under `prefix`; no other table's prefix may start with it.
    pub const fn new(prefix: &'static [u8]) -> Self {
        Table {
            prefix,
            types: PhantomData,
        }
    }

    /// The prefix of every key of the table.
    pub fn prefix(&self) -> &'static [u8] {
        self.prefix
    }

    /// The stored key of `key`.
    pub fn key<Q: Pack<K> + ?Sized>(&self, key: &Q) -> Vec<u8> {
        tuple::pack(self.prefix, key)
    }

    /// The key decoded from a stored key of this table, or `None` if it is not one.
    pub fn unpack_key(&self, key: &[u8]) -> Option<K>
    where
        K: Unpack,
    {
        tuple::unpack(key.strip_prefix(self.prefix)?)
    }

    /// Whether `key` is a stored key of this table.
    pub fn contains(&self, key: &[u8]) -> bool {
        key.starts_with(self.prefix)
    }

    /// Every record of the table, in key order.
    pub fn all(&self) -> RangeRead {
        RangeRead::prefix(self.prefix.to_vec())
    }

    /// Every record whose key starts with the partial tuple `prefix` (of type `P`).
    pub fn starting_with<P: ?Sized, Q: Pack<P> + ?Sized>(&self, prefix: &Q) -> RangeRead {
        RangeRead::prefix(tuple::pack(self.prefix, prefix))
    }

    /// Every record from the table's first key up to the partial tuple `end` (exclusive).
    pub fn before<P: ?Sized, Q: Pack<P> + ?Sized>(&self, end: &Q) -> RangeRead {
        RangeRead::new(self.prefix.to_vec(), tuple::pack(self.prefix, end))
    }

    /// Every record from `begin` (inclusive) to the end of the records that start with
    /// the partial tuple `within`.
    pub fn from_within<P: ?Sized, W: ?Sized>(
        &self,
        begin: &(impl Pack<P> + ?Sized),
        within: &(impl Pack<W> + ?Sized),
    ) -> RangeRead {
        RangeRead::new(
            tuple::pack(self.prefix, begin),
            tuple::prefix_end(&tuple::pack(self.prefix, within)),
        )
    }

    /// Removes one record.
    pub fn clear<Q: Pack<K> + ?Sized>(&self, tx: &dyn Tx, key: &Q) {
        tx.clear(&self.key(key));
    }

    /// Removes every record in `range` (its limit and direction are ignored).
    pub async fn clear_range(&self, tx: &dyn Tx, range: RangeRead) -> Result<()> {
        tx.clear_range(&range.begin, &range.end).await
    }
}

impl<K, V, C: Codec<V>> Table<K, V, C> {
    /// Reads one record.
    pub async fn get<Q: Pack<K> + ?Sized>(&self, tx: &dyn Tx, key: &Q) -> Result<Option<V>> {
        let key = self.key(key);
        match tx.get(&key).await? {
            Some(bytes) => self.decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Writes one record.
    pub fn set<Q: Pack<K> + ?Sized>(&self, tx: &dyn Tx, key: &Q, value: &V) -> Result<()> {
        let bytes = C::encode(value).map_err(|e| StoreError::corrupt(self.prefix, e))?;
        tx.set(&self.key(key), &bytes);
        Ok(())
    }

    /// Reads the records in `range`, keys decoded.
    pub async fn range(&self, tx: &dyn Tx, range: RangeRead) -> Result<Vec<(K, V)>>
    where
        K: Unpack,
    {
        tx.get_range(range)
            .await?
            .into_iter()
            .map(|(key, value)| {
                let key = self.unpack_key(&key).ok_or_else(|| {
                    StoreError::corrupt(self.prefix, format!("key {key:02x?} does not decode"))
                })?;
                Ok((key, self.decode(&value)?))
            })
            .collect()
    }

    /// Reads the records in `range` whose keys decode as `K`, skipping the others: for
    /// tables that share a prefix and are told apart by a key element (a key that does
    /// not decode belongs to another of them).
    pub async fn range_matching(&self, tx: &dyn Tx, range: RangeRead) -> Result<Vec<(K, V)>>
    where
        K: Unpack,
    {
        tx.get_range(range)
            .await?
            .into_iter()
            .filter_map(|(key, value)| {
                let key = self.unpack_key(&key)?;
                Some(self.decode(&value).map(|value| (key, value)))
            })
            .collect()
    }

    /// Reads the values of the records in `range`, in key order.
    pub async fn values(&self, tx: &dyn Tx, range: RangeRead) -> Result<Vec<V>> {
        tx.get_range(range)
            .await?
            .into_iter()
            .map(|(_, value)| self.decode(&value))
            .collect()
    }

    fn decode(&self, bytes: &[u8]) -> Result<V> {
        C::decode(bytes).map_err(|e| StoreError::corrupt(self.prefix, e))
    }
}

impl<K> Table<K, i64, Counter> {
    /// Adds `delta` to a counter (absent is 0), without a read conflict where the backend
    /// can.
    pub async fn add<Q: Pack<K> + ?Sized>(&self, tx: &dyn Tx, key: &Q, delta: i64) -> Result<()> {
        tx.add(&self.key(key), delta).await
    }
}

/// One named record under a prefix shared by several (store-wide settings and counters):
/// its key is the prefix followed by the packed name.
pub struct Entry<V, C = Json> {
    prefix: &'static [u8],
    name: &'static str,
    types: PhantomData<fn() -> (V, C)>,
}

impl<V, C> std::fmt::Debug for Entry<V, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({:02x?}, {:?})", self.prefix, self.name)
    }
}

impl<V, C> Entry<V, C> {
    /// The record called `name` under `prefix`.
    pub const fn new(prefix: &'static [u8], name: &'static str) -> Self {
        Entry {
            prefix,
            name,
            types: PhantomData,
        }
    }

    /// As a one-key table, to reuse its reads and writes.
    fn table(&self) -> Table<String, V, C> {
        Table::new(self.prefix)
    }

    /// The stored key.
    pub fn key(&self) -> Vec<u8> {
        self.table().key(self.name)
    }

    /// Removes the record.
    pub fn clear(&self, tx: &dyn Tx) {
        self.table().clear(tx, self.name);
    }
}

impl<V, C: Codec<V>> Entry<V, C> {
    /// Reads the record.
    pub async fn get(&self, tx: &dyn Tx) -> Result<Option<V>> {
        self.table().get(tx, self.name).await
    }

    /// Writes the record.
    pub fn set(&self, tx: &dyn Tx, value: &V) -> Result<()> {
        self.table().set(tx, self.name, value)
    }
}

impl Entry<i64, Counter> {
    /// Adds `delta` to the counter (absent is 0).
    pub async fn add(&self, tx: &dyn Tx, delta: i64) -> Result<()> {
        tx.add(&self.key(), delta).await
    }
}
