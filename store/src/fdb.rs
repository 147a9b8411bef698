//! The FoundationDB backend: the store's model is FoundationDB's own, so every operation
//! maps directly onto the client API.
//!
//! This module owns the process's FoundationDB client network (started by the first
//! [`FdbStore::open`] and kept until the process exits), the mapping of FoundationDB
//! errors onto [`StoreError`], and the stamping of change-log positions at commit.
//!
//! Conflicts: FoundationDB's optimistic concurrency refuses a commit whose reads were
//! overwritten (`not_committed`, 1020); that and every other retryable error is
//! [`StoreError::Conflict`], and `commit_unknown_result` (1021) is
//! [`StoreError::MaybeCommitted`]. The retry loop of [`crate::retry`] starts a new
//! transaction for each attempt, so FoundationDB's own `on_error` loop is not used.
//! Every transaction is cancelled by the cluster after the retry policy's deadline, so an
//! unreachable cluster surfaces as an error instead of a read that never returns.
//!
//! Change-log positions: entries are buffered and, at commit, written with
//! `SET_VERSIONSTAMPED_KEY`, so that the cluster fills in the commit versionstamp
//! (8-byte commit version, 2-byte order in the commit batch); positions thus follow commit
//! order across every coordinator sharing the cluster, without any lock.
//!
//! Tests: they need a running cluster and run only where `ONSALE_TEST_FDB_CLUSTER` names
//! its cluster file (an empty value means the default cluster file); elsewhere they pass
//! without doing anything.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use foundationdb::api::{FdbApiBuilder, NetworkAutoStop};
use foundationdb::options::{DatabaseOption, MutationType, StreamingMode};
use foundationdb::{Database, FdbError, FdbResult, RangeOption, Transaction};

use crate::log::{self, LOG_PREFIX, LogPosition};
use crate::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

const BACKEND: &str = "fdb";

/// The FoundationDB client network of this process, or why it failed to start.
///
/// The C client allows one network per process and can never restart one that stopped, so
/// the guard must outlive every store that will ever be opened: it lives in this static and
/// is therefore never dropped, and the network thread runs until the process exits. A
/// failure is kept too, so that every later open reports it instead of trying to select the
/// API version a second time (which the client refuses).
static NETWORK: OnceLock<FdbResult<NetworkAutoStop>> = OnceLock::new();

/// Starts the client network on first use.
fn network() -> Result<()> {
    let booted = NETWORK.get_or_init(|| {
        let builder = FdbApiBuilder::default().build()?;
        // SAFETY: the crate requires the guard to be dropped before the process exits; it
        // is kept in `NETWORK` for the whole life of the process instead (see there).
        unsafe { builder.boot() }
    });
    match booted {
        Ok(_) => Ok(()),
        Err(err) => Err(StoreError::backend(BACKEND, *err)),
    }
}

/// Maps a FoundationDB error: retryable ones are conflicts, except those after which the
/// commit may have happened.
fn fdb_err(err: FdbError) -> StoreError {
    if err.is_maybe_committed() {
        tracing::debug!(code = err.code(), error = %err, "fdb commit outcome unknown");
        StoreError::MaybeCommitted
    } else if err.is_retryable() {
        tracing::debug!(code = err.code(), error = %err, "fdb transaction will be retried");
        StoreError::Conflict
    } else {
        StoreError::backend(BACKEND, err)
    }
}

/// A store in a FoundationDB cluster, shared by any number of coordinators.
pub struct FdbStore {
    db: Database,
    policy: RetryPolicy,
}

impl FdbStore {
    /// Opens the cluster named by `cluster_file`, or by the default cluster file when it is
    /// empty, starting the client network if this is the first store of the process.
    /// Connecting happens in the background; an unreachable cluster shows when the first
    /// transaction times out (after `policy.deadline`).
    pub fn open(cluster_file: &str, policy: RetryPolicy) -> Result<Self> {
        if cluster_file.contains('\0') {
            return Err(StoreError::backend(
                BACKEND,
                format!("cluster file path {cluster_file:?} contains a NUL byte"),
            ));
        }
        network()?;
        let path = (!cluster_file.is_empty()).then_some(cluster_file);
        let db = Database::new(path).map_err(fdb_err)?;
        // Zero disables the timeout, as a zero deadline still allows a first attempt.
        let timeout_ms = i32::try_from(policy.deadline.as_millis()).unwrap_or(i32::MAX);
        db.set_option(DatabaseOption::TransactionTimeout(timeout_ms))
            .map_err(fdb_err)?;
        Ok(FdbStore { db, policy })
    }
}

#[async_trait]
impl Store for FdbStore {
    async fn begin(&self) -> Result<Txn> {
        let tx = self.db.create_trx().map_err(fdb_err)?;
        Ok(Arc::new(FdbTx {
            state: Mutex::new(Some(TxState {
                tx,
                log: Vec::new(),
            })),
        }))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

struct TxState {
    tx: Transaction,
    /// Change-log entries, written with their versionstamped keys at commit.
    log: Vec<Vec<u8>>,
}

/// One FoundationDB transaction. The std mutex is held only to start a client call: the
/// futures the client returns do not borrow the transaction, and are awaited unlocked.
struct FdbTx {
    state: Mutex<Option<TxState>>,
}

impl FdbTx {
    fn with<T>(&self, f: impl FnOnce(&mut TxState) -> T) -> Result<T> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_mut().map(f).ok_or(StoreError::Finished)
    }

    fn take(&self) -> Option<TxState> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Writes the buffered change-log entries: entry `index` gets the key of
/// `LogPosition::new(0, index)` with the 10 zero bytes after the log prefix as the
/// placeholder of the versionstamp, followed by the placeholder's offset (4 bytes,
/// little-endian, as API versions from 520 expect).
fn stamp_log(tx: &Transaction, log: &[Vec<u8>]) -> Result<()> {
    let offset = u32::try_from(LOG_PREFIX.len())
        .map_err(|e| StoreError::backend(BACKEND, e))?
        .to_le_bytes();
    for (index, entry) in log.iter().enumerate() {
        let index = u16::try_from(index).map_err(|e| StoreError::backend(BACKEND, e))?;
        let mut key = log::key(LogPosition::new(0, index));
        key.extend_from_slice(&offset);
        tx.atomic_op(&key, entry, MutationType::SetVersionstampedKey);
    }
    Ok(())
}

#[async_trait]
impl Tx for FdbTx {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let read = self.with(|s| s.tx.get(key, false))?;
        Ok(read.await.map_err(fdb_err)?.map(|value| value.to_vec()))
    }

    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>> {
        if range.begin >= range.end {
            return Ok(Vec::new());
        }
        let mut pairs = Vec::new();
        let mut next = Some(RangeOption {
            limit: (range.limit > 0).then_some(range.limit),
            mode: StreamingMode::WantAll,
            reverse: range.reverse,
            ..RangeOption::from((range.begin, range.end))
        });
        let mut iteration = 1;
        while let Some(opt) = next.take() {
            let read = self.with(|s| s.tx.get_range(&opt, iteration, false))?;
            let page = read.await.map_err(fdb_err)?;
            pairs.extend(
                page.iter()
                    .map(|kv| (kv.key().to_vec(), kv.value().to_vec())),
            );
            next = opt.next_range(&page);
            iteration += 1;
        }
        Ok(pairs)
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        let _ = self.with(|s| s.tx.set(key, value));
    }

    fn clear(&self, key: &[u8]) {
        let _ = self.with(|s| s.tx.clear(key));
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()> {
        self.with(|s| {
            if begin < end {
                s.tx.clear_range(begin, end);
            }
        })
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        self.with(|s| s.tx.atomic_op(key, &delta.to_le_bytes(), MutationType::Add))
    }

    fn append_log(&self, entry: &[u8]) {
        let _ = self.with(|s| s.log.push(entry.to_vec()));
    }

    async fn commit(&self) -> Result<()> {
        let TxState { tx, log } = self.take().ok_or(StoreError::Finished)?;
        stamp_log(&tx, &log)?;
        match tx.commit().await {
            Ok(_) => Ok(()),
            Err(err) => Err(fdb_err(FdbError::from(err))),
        }
    }

    async fn rollback(&self) {
        // Destroying an uncommitted transaction abandons its writes.
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Raw, StoreExt, Table, decode_counter};

    /// Seats of an event, by number: a table to page through.
    const SEATS: Table<(u64, u32), Vec<u8>, Raw> = Table::new(&[0x13]);

    fn seat(event: u64, seat: u32) -> Vec<u8> {
        SEATS.key(&(event, seat))
    }

    fn counter_key(what: &str) -> Vec<u8> {
        Table::<String, i64, crate::Counter>::new(&[0x01])
            .key(&format!("fdb-test-{what}-{}", rand::random::<u64>()))
    }

    /// A store on the test cluster, or `None` (and the test does nothing) without one.
    fn store() -> Option<FdbStore> {
        let Ok(cluster_file) = std::env::var("ONSALE_TEST_FDB_CLUSTER") else {
            eprintln!("skipped: ONSALE_TEST_FDB_CLUSTER is not set");
            return None;
        };
        Some(FdbStore::open(&cluster_file, RetryPolicy::default()).expect("open fdb"))
    }

    #[tokio::test]
    async fn reads_writes_and_pages_ranges() {
        let Some(store) = store() else { return };
        let event = rand::random::<u64>();
        let value = vec![7u8; 1000];
        store
            .transact(|tx| {
                let value = value.clone();
                async move {
                    for number in 0..300 {
                        tx.set(&seat(event, number), &value);
                    }
                    Ok::<_, StoreError>(())
                }
            })
            .await
            .expect("write seats");

        let (all, first, last, one) = store
            .transact(|tx| async move {
                let all = tx.get_range(SEATS.starting_with(&event)).await?;
                let first = tx.get_range(SEATS.starting_with(&event).limit(250)).await?;
                let last = tx
                    .get_range(SEATS.starting_with(&event).reverse().limit(2))
                    .await?;
                let one = tx.get(&seat(event, 42)).await?;
                Ok::<_, StoreError>((all, first, last, one))
            })
            .await
            .expect("read seats");
        assert_eq!(all.len(), 300);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(first.len(), 250);
        assert_eq!(first[..], all[..250]);
        let last_seats: Vec<_> = last
            .iter()
            .filter_map(|(k, _)| SEATS.unpack_key(k).map(|(_, no)| no))
            .collect();
        assert_eq!(last_seats, vec![299, 298]);
        assert_eq!(one.as_deref(), Some(value.as_slice()));

        let (cleared, rest) = store
            .transact(|tx| async move {
                tx.clear(&seat(event, 0));
                tx.clear_range(&seat(event, 1), &seat(event, 100)).await?;
                let cleared = tx.get(&seat(event, 50)).await?;
                let rest = tx.get_range(SEATS.starting_with(&event)).await?;
                let range = SEATS.starting_with(&event);
                tx.clear_range(&range.begin, &range.end).await?;
                Ok::<_, StoreError>((cleared, rest.len()))
            })
            .await
            .expect("clear seats");
        assert_eq!(cleared, None);
        assert_eq!(rest, 200);
    }

    #[tokio::test]
    async fn counters_add_without_conflicts() {
        let Some(store) = store() else { return };
        let key = counter_key("counter");
        let first = store.begin().await.expect("begin");
        let second = store.begin().await.expect("begin");
        first.add(&key, 5).await.expect("add");
        second.add(&key, -2).await.expect("add");
        first.commit().await.expect("first commit");
        second.commit().await.expect("second commit");

        let total = store
            .transact(|tx| {
                let key = key.clone();
                async move {
                    let total = decode_counter(tx.get(&key).await?.as_deref());
                    tx.clear(&key);
                    Ok::<_, StoreError>(total)
                }
            })
            .await
            .expect("read counter");
        assert_eq!(total, 3);
    }

    #[tokio::test]
    async fn overwritten_reads_conflict() {
        let Some(store) = store() else { return };
        let key = counter_key("conflict");
        let reader = store.begin().await.expect("begin");
        let writer = store.begin().await.expect("begin");
        assert_eq!(reader.get(&key).await.expect("read"), None);
        reader.set(&key, b"reader");
        writer.set(&key, b"writer");
        writer.commit().await.expect("writer commit");
        let refused = reader.commit().await;
        assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
        assert!(matches!(reader.commit().await, Err(StoreError::Finished)));

        let cleanup = store.begin().await.expect("begin");
        cleanup.clear(&key);
        cleanup.commit().await.expect("cleanup");
    }

    #[tokio::test]
    async fn log_positions_follow_commits() {
        let Some(store) = store() else { return };
        let tag = rand::random::<u64>().to_be_bytes();
        for round in 0u8..2 {
            let tx = store.begin().await.expect("begin");
            tx.append_log(&[&tag[..], &[round, 0]].concat());
            tx.append_log(&[&tag[..], &[round, 1]].concat());
            tx.commit().await.expect("commit");
        }

        let tail = store
            .transact(
                |tx| async move { tx.get_range(log::after(None).reverse().limit(1000)).await },
            )
            .await
            .expect("read log");
        let mut ours: Vec<_> = tail
            .iter()
            .filter(|(_, v)| v.starts_with(&tag))
            .map(|(k, v)| (log::position(k).expect("log key"), v[8..].to_vec()))
            .collect();
        ours.reverse();
        assert_eq!(ours.len(), 4);
        let entries: Vec<_> = ours.iter().map(|(_, e)| e.clone()).collect();
        assert_eq!(
            entries,
            vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]
        );
        assert_eq!(ours[0].0.version(), ours[1].0.version());
        assert_eq!(ours[1].0.0[..10], ours[0].0.0[..10]);
        assert_eq!(ours[1].0.0[10..], [0, 1]);
        assert!(ours[1].0 < ours[2].0);
        assert!(ours[0].0.version() > 0);

        let cleanup = store.begin().await.expect("begin");
        for (position, _) in &ours {
            cleanup.clear(&log::key(*position));
        }
        cleanup.commit().await.expect("cleanup");
    }
}
