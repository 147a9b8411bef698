//! The embedded backend: fjall's optimistic serializable transactions.
//!
//! Durability: a transaction's writes reach fjall's journal (the OS page cache) when it
//! commits; [`Tx::commit`] then waits for a group-commit thread that calls `fdatasync` on
//! the journal once for every batch of commits that queued up while the previous sync
//! ran. A commit is acknowledged only after the sync that covers it, so an acknowledged
//! hold survives a power loss, and a busy store pays one fsync per batch, not per hold.
//!
//! Change-log positions: commits that append to the log take `log_seq` (a mutex held
//! only while fjall commits in memory) so that positions are handed out in commit order;
//! a conflicted commit leaves a gap, never an out-of-order entry.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fjall::{
    KeyspaceCreateOptions, OptimisticTxDatabase, OptimisticTxKeyspace, PersistMode, Readable,
};
use tokio::sync::oneshot;

use super::keys::{self, LogPosition};
use super::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

const BACKEND: &str = "fjall";

fn fjall_err(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(BACKEND, err)
}

/// A store in a local folder, opened by one process at a time.
pub struct FjallStore {
    db: OptimisticTxDatabase,
    data: OptimisticTxKeyspace,
    /// The next change-log version; locked across the in-memory commit of every
    /// transaction that appends to the log, so versions follow commit order.
    log_seq: Arc<Mutex<u64>>,
    /// Queue of the group-commit thread; `None` when commits are not synced.
    syncer: Option<mpsc::Sender<oneshot::Sender<Result<()>>>>,
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
        let data = db
            .keyspace("onsale", KeyspaceCreateOptions::default)
            .map_err(fjall_err)?;
        let last = {
            let snapshot = db.read_tx();
            let prefix = keys::log_prefix();
            match snapshot.prefix(&data, &prefix).next_back() {
                Some(guard) => {
                    let key = guard.key().map_err(fjall_err)?;
                    keys::log_position(&key).map_or(0, |p| p.version())
                }
                None => 0,
            }
        };
        let syncer = durable.then(|| spawn_syncer(db.clone()));
        Ok(FjallStore {
            db,
            data,
            log_seq: Arc::new(Mutex::new(last + 1)),
            syncer,
            policy,
        })
    }
}

/// Runs the group-commit loop on its own thread: take every waiting commit, sync once,
/// answer them all.
fn spawn_syncer(db: OptimisticTxDatabase) -> mpsc::Sender<oneshot::Sender<Result<()>>> {
    let (tx, rx) = mpsc::channel::<oneshot::Sender<Result<()>>>();
    std::thread::Builder::new()
        .name("fjall-sync".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut waiters = vec![first];
                waiters.extend(rx.try_iter());
                let outcome = db.persist(PersistMode::SyncData);
                metrics::histogram!("onsale_fjall_sync_batch").record(waiters.len() as f64);
                for waiter in waiters {
                    let answer = match &outcome {
                        Ok(()) => Ok(()),
                        Err(err) => Err(fjall_err(err.to_string())),
                    };
                    let _ = waiter.send(answer);
                }
            }
        })
        .expect("spawning the fjall sync thread");
    tx
}

#[async_trait]
impl Store for FjallStore {
    async fn begin(&self) -> Result<Txn> {
        let tx = self.db.write_tx().map_err(fjall_err)?;
        Ok(Arc::new(FjallTx {
            state: Mutex::new(Some(TxState {
                tx,
                log: Vec::new(),
            })),
            data: self.data.clone(),
            log_seq: self.log_seq.clone(),
            syncer: self.syncer.clone(),
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
}

/// One fjall transaction. The std mutex is never held across an `.await`.
struct FjallTx {
    state: Mutex<Option<TxState>>,
    data: OptimisticTxKeyspace,
    log_seq: Arc<Mutex<u64>>,
    syncer: Option<mpsc::Sender<oneshot::Sender<Result<()>>>>,
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
            s.tx.insert(&self.data, key, value);
            Ok(())
        });
    }

    fn clear(&self, key: &[u8]) {
        let _ = self.with(|s| {
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
                s.tx.remove(&self.data, key);
            }
            Ok(())
        })
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        self.with(|s| {
            let current = s.tx.get(&self.data, key).map_err(fjall_err)?;
            let next = super::decode_counter(current.as_deref()).wrapping_add(delta);
            s.tx.insert(&self.data, key, next.to_le_bytes());
            Ok(())
        })
    }

    fn append_log(&self, entry: &[u8]) {
        let _ = self.with(|s| {
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
        let TxState { mut tx, log } = state;
        let outcome = if log.is_empty() {
            tx.commit()
        } else {
            let mut seq = self.log_seq.lock().unwrap_or_else(|p| p.into_inner());
            let version = *seq;
            *seq += 1;
            for (index, entry) in log.iter().enumerate() {
                let index = u16::try_from(index).map_err(fjall_err)?;
                tx.insert(
                    &self.data,
                    keys::log(LogPosition::new(version, index)),
                    entry.as_slice(),
                );
            }
            tx.commit()
        };
        match outcome.map_err(fjall_err)? {
            Ok(()) => {}
            Err(fjall::Conflict) => return Err(StoreError::Conflict),
        }
        if let Some(syncer) = &self.syncer {
            let (done, synced) = oneshot::channel();
            syncer
                .send(done)
                .map_err(|_| fjall_err("the sync thread has stopped"))?;
            synced
                .await
                .map_err(|_| fjall_err("the sync thread has stopped"))??;
        }
        Ok(())
    }

    async fn rollback(&self) {
        if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).take() {
            state.tx.rollback();
        }
    }
}
