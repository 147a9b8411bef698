//! The embedded backend: fjall's optimistic serializable transactions.
//!
//! Commits go through one committer thread (group commit): it takes every transaction
//! that queued up, commits each in memory and to fjall's journal, then calls `fdatasync`
//! on the journal once for the whole batch and only then answers them. So an
//! acknowledged hold survives a power loss, a busy store pays one fsync per batch rather
//! than per hold, and no async worker thread ever waits on the journal's lock (fjall holds
//! it during the sync).
//!
//! Change-log positions: the committer thread hands out one version per committing
//! transaction in the order it commits them; a conflicted commit leaves a gap, never an
//! out-of-order entry.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fjall::{
    KeyspaceCreateOptions, OptimisticTxDatabase, OptimisticTxKeyspace, PersistMode, Readable,
};
use tokio::sync::oneshot;

use crate::log::{self, LOG_PREFIX, LogPosition};
use crate::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

const BACKEND: &str = "fjall";

fn fjall_err(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(BACKEND, err)
}

/// A store in a local folder, opened by one process at a time.
pub struct FjallStore {
    db: OptimisticTxDatabase,
    data: OptimisticTxKeyspace,
    /// Queue of the committer thread.
    committer: mpsc::Sender<CommitRequest>,
    policy: RetryPolicy,
}

impl FjallStore {
    /// Opens (or creates) the store in `path`, with durable commits.
    pub fn open(path: impl AsRef<Path>, policy: RetryPolicy) -> Result<Self> {
        Self::open_with(path, policy, true)
    }

    /// Opens the store; with `durable` false, commits return before the journal is synced
    /// (a crash of the machine, not of the process, may then lose the last commits).
    pub fn open_with(path: impl AsRef<Path>, policy: RetryPolicy, durable: bool) -> Result<Self> {
        let db = OptimisticTxDatabase::builder(path.as_ref())
            .open()
            .map_err(fjall_err)?;
        let data = db.keyspace("onsale", keyspace_options).map_err(fjall_err)?;
        let last = {
            let snapshot = db.read_tx();
            match snapshot.prefix(&data, LOG_PREFIX).next_back() {
                Some(guard) => {
                    let key = guard.key().map_err(fjall_err)?;
                    log::position(&key).map_or(0, |p| p.version())
                }
                None => 0,
            }
        };
        let committer = spawn_committer(db.clone(), data.clone(), last + 1, durable);
        Ok(FjallStore {
            db,
            data,
            committer,
            policy,
        })
    }
}

/// How the one keyspace is laid out. Filter and index blocks are pinned in memory on every
/// level, not only the first ones (fjall's default): past a few million keys a table's
/// filter is megabytes, more than fits its share of the 32 MiB block cache, so every
/// point read loaded and checksummed it again (0.6 ms per read with 3 million people in a
/// waiting room, 6 µs pinned). Pinned filters cost about 10 bits per key. fjall keeps a
/// keyspace's options from its creation, so this applies to stores created from now on.
fn keyspace_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .filter_block_pinning_policy(fjall::config::PinningPolicy::all(true))
        .index_block_pinning_policy(fjall::config::PinningPolicy::all(true))
}

/// A finished transaction waiting to be committed, and where to send the outcome.
struct CommitRequest {
    state: TxState,
    done: oneshot::Sender<Result<()>>,
}

/// Runs the committer thread: take every queued transaction, commit each in order
/// (stamping its change-log entries with the next version), sync the journal once, then
/// answer them all.
fn spawn_committer(
    db: OptimisticTxDatabase,
    data: OptimisticTxKeyspace,
    first_version: u64,
    durable: bool,
) -> mpsc::Sender<CommitRequest> {
    let (queue, requests) = mpsc::channel::<CommitRequest>();
    std::thread::Builder::new()
        .name("fjall-commit".into())
        .spawn(move || {
            let mut next_version = first_version;
            while let Ok(first) = requests.recv() {
                let mut committed = Vec::new();
                for request in std::iter::once(first).chain(requests.try_iter()) {
                    match commit_one(&data, request.state, &mut next_version) {
                        Ok(()) => committed.push(request.done),
                        Err(err) => {
                            let _ = request.done.send(Err(err));
                        }
                    }
                }
                if committed.is_empty() {
                    continue;
                }
                metrics::histogram!("onsale_fjall_commit_batch").record(committed.len() as f64);
                let synced = if durable {
                    db.persist(PersistMode::SyncData).map_err(|e| e.to_string())
                } else {
                    Ok(())
                };
                for done in committed {
                    let _ = done.send(synced.clone().map_err(fjall_err));
                }
            }
        })
        .expect("spawning the fjall committer thread");
    queue
}

fn commit_one(data: &OptimisticTxKeyspace, state: TxState, next_version: &mut u64) -> Result<()> {
    let TxState { mut tx, log, .. } = state;
    if !log.is_empty() {
        let version = *next_version;
        *next_version += 1;
        for (index, entry) in log.iter().enumerate() {
            let index = u16::try_from(index).map_err(fjall_err)?;
            tx.insert(
                data,
                log::key(LogPosition::new(version, index)),
                entry.as_slice(),
            );
        }
    }
    match tx.commit().map_err(fjall_err)? {
        Ok(()) => Ok(()),
        Err(fjall::Conflict) => Err(StoreError::Conflict),
    }
}

#[async_trait]
impl Store for FjallStore {
    async fn begin(&self) -> Result<Txn> {
        let tx = self.db.write_tx().map_err(fjall_err)?;
        Ok(Arc::new(FjallTx {
            state: Mutex::new(Some(TxState {
                tx,
                log: Vec::new(),
                wrote: false,
            })),
            data: self.data.clone(),
            committer: self.committer.clone(),
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
    tx: fjall::OptimisticWriteTx,
    log: Vec<Vec<u8>>,
    /// Whether anything was written; a read-only transaction ends without a commit
    /// (its reads came from one snapshot, which is serializable on its own).
    wrote: bool,
}

/// One fjall transaction. The std mutex is never held across an `.await`.
struct FjallTx {
    state: Mutex<Option<TxState>>,
    data: OptimisticTxKeyspace,
    committer: mpsc::Sender<CommitRequest>,
}

impl FjallTx {
    fn with<T>(&self, f: impl FnOnce(&mut TxState) -> Result<T>) -> Result<T> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(state) => f(state),
            None => Err(StoreError::Finished),
        }
    }
}

#[async_trait]
impl Tx for FjallTx {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|s| {
            Ok(s.tx
                .get(&self.data, key)
                .map_err(fjall_err)?
                .map(|v| v.to_vec()))
        })
    }

    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>> {
        self.with(|s| {
            let iter =
                s.tx.range(&self.data, range.begin.as_slice()..range.end.as_slice());
            let limit = if range.limit == 0 {
                usize::MAX
            } else {
                range.limit
            };
            let pairs: Box<dyn Iterator<Item = fjall::Guard>> = if range.reverse {
                Box::new(iter.rev().take(limit))
            } else {
                Box::new(iter.take(limit))
            };
            pairs
                .map(|guard| {
                    let (k, v) = guard.into_inner().map_err(fjall_err)?;
                    Ok((k.to_vec(), v.to_vec()))
                })
                .collect()
        })
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        let _ = self.with(|s| {
            s.wrote = true;
            s.tx.insert(&self.data, key, value);
            Ok(())
        });
    }

    fn clear(&self, key: &[u8]) {
        let _ = self.with(|s| {
            s.wrote = true;
            s.tx.remove(&self.data, key);
            Ok(())
        });
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()> {
        self.with(|s| {
            let doomed: Vec<_> =
                s.tx.range(&self.data, begin..end)
                    .map(|guard| guard.key().map_err(fjall_err))
                    .collect::<Result<_>>()?;
            for key in doomed {
                s.wrote = true;
                s.tx.remove(&self.data, key);
            }
            Ok(())
        })
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        self.with(|s| {
            let current = s.tx.get(&self.data, key).map_err(fjall_err)?;
            let next = crate::decode_counter(current.as_deref()).wrapping_add(delta);
            s.wrote = true;
            s.tx.insert(&self.data, key, next.to_le_bytes());
            Ok(())
        })
    }

    fn append_log(&self, entry: &[u8]) {
        let _ = self.with(|s| {
            s.wrote = true;
            s.log.push(entry.to_vec());
            Ok(())
        });
    }

    async fn commit(&self) -> Result<()> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(StoreError::Finished)?;
        if !state.wrote {
            state.tx.rollback();
            return Ok(());
        }
        let (done, outcome) = oneshot::channel();
        self.committer
            .send(CommitRequest { state, done })
            .map_err(|_| fjall_err("the committer thread has stopped"))?;
        outcome
            .await
            .map_err(|_| fjall_err("the committer thread has stopped"))?
    }

    async fn rollback(&self) {
        if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).take() {
            state.tx.rollback();
        }
    }
}
