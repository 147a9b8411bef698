//! The PostgreSQL backend: one table of ordered byte keys, SERIALIZABLE transactions.
//!
//! PostgreSQL's serializable snapshot isolation refuses any commit that would make the
//! history non-serializable (SQLSTATE 40001); those refusals, and deadlocks, are
//! [`StoreError::Conflict`] and the retry loop runs the transaction again. `bytea`
//! compares bytewise, so key order is the same as in every other backend.
//!
//! Point writes are buffered in the transaction and sent in one statement before the next
//! range read or at commit; point reads consult the buffer first (read-your-writes).
//!
//! A connection that breaks (a terminated backend, a restart, a network cut) before COMMIT
//! is [`StoreError::Disconnected`]: it leaves the pool and the retry loop runs the
//! transaction again on a fresh one; one that breaks during COMMIT is
//! [`StoreError::MaybeCommitted`].
//!
//! Change-log positions: a committing transaction with log entries takes a
//! transaction-scoped advisory lock, draws the next value of `onsale_log_seq` and writes
//! its entries; the lock is held until COMMIT, so positions follow commit order across
//! every coordinator sharing the database.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use crate::log::{LOG_PREFIX, LogPosition};
use crate::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

const BACKEND: &str = "postgres";
/// Advisory-lock id that orders change-log appends ("onsale" in ASCII).
const LOG_LOCK: i64 = 0x6f6e_73616c65;

fn pg_err(err: tokio_postgres::Error) -> StoreError {
    if let Some(code) = err.code()
        && (*code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED)
    {
        return StoreError::Conflict;
    }
    if is_disconnect(&err) {
        return StoreError::Disconnected {
            backend: BACKEND,
            source: Box::new(err),
        };
    }
    StoreError::backend(BACKEND, err)
}

/// Whether `err` means the connection is gone (closed, reset, or the server ending the
/// session: `pg_terminate_backend`, a shutdown or restart) rather than a refused statement.
fn is_disconnect(err: &tokio_postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    if let Some(code) = err.code() {
        return [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_DOES_NOT_EXIST,
            SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code);
    }
    std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>())
}

/// A store in a PostgreSQL database, shared by any number of coordinators.
pub struct PgStore {
    pool: Pool,
    policy: RetryPolicy,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), creating the table if needed.
    /// The pool size comes from `ONSALE_PG_POOL` (default 16).
    pub async fn connect(url: &str, policy: RetryPolicy) -> Result<Self> {
        let pool_size = std::env::var("ONSALE_PG_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(16);
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::backend(BACKEND, e))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StoreError::backend(BACKEND, e))?;
        let store = PgStore { pool, policy };
        store.migrate().await?;
        Ok(store)
    }

    /// A pooled connection; failing to get one (the server down, restarting or full) is
    /// [`StoreError::Disconnected`], which the retry loop retries.
    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(err) if !is_disconnect(&err) => {
                StoreError::backend(BACKEND, err)
            }
            other => StoreError::Disconnected {
                backend: BACKEND,
                source: Box::new(other),
            },
        })
    }

    /// Creates the table and the log sequence; safe to run from several processes at once.
    async fn migrate(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .batch_execute(&format!(
                "SELECT pg_advisory_lock({LOG_LOCK});
                 CREATE TABLE IF NOT EXISTS onsale_kv (k bytea PRIMARY KEY, v bytea NOT NULL);
                 CREATE SEQUENCE IF NOT EXISTS onsale_log_seq;
                 SELECT pg_advisory_unlock({LOG_LOCK});"
            ))
            .await
            .map_err(pg_err)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Txn> {
        let client = self.client().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .await
            .map_err(pg_err)?;
        Ok(Arc::new(PgTx {
            client: tokio::sync::Mutex::new(Some(client)),
            pending: Mutex::new(Pending::default()),
        }))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

/// Writes not yet sent to the server.
#[derive(Default)]
struct Pending {
    /// `Some(value)` to set, `None` to clear.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    log: Vec<Vec<u8>>,
}

/// One PostgreSQL transaction on a pooled connection. A transaction dropped before it
/// ends (a cancelled request) takes its connection out of the pool, so no connection is
/// ever reused in the middle of a transaction.
struct PgTx {
    client: tokio::sync::Mutex<Option<Object>>,
    pending: Mutex<Pending>,
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            drop(Object::take(client));
        }
    }
}

impl PgTx {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends buffered point writes to the server.
    async fn flush(&self, client: &Object) -> Result<()> {
        let writes = std::mem::take(&mut self.pending().writes);
        if writes.is_empty() {
            return Ok(());
        }
        let (mut set_keys, mut set_values, mut cleared) = (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in writes {
            match value {
                Some(value) => {
                    set_keys.push(key);
                    set_values.push(value);
                }
                None => cleared.push(key),
            }
        }
        if !set_keys.is_empty() {
            upsert(client, &set_keys, &set_values).await?;
        }
        if !cleared.is_empty() {
            let stmt = client
                .prepare_cached("DELETE FROM onsale_kv WHERE k = ANY($1::bytea[])")
                .await
                .map_err(pg_err)?;
            client.execute(&stmt, &[&cleared]).await.map_err(pg_err)?;
        }
        Ok(())
    }

    async fn finish_commit(&self, client: &Object) -> Result<()> {
        self.flush(client).await?;
        let log = std::mem::take(&mut self.pending().log);
        if !log.is_empty() {
            // One statement takes the ordering lock, draws the version and writes the
            // entries, so the lock is held for that statement and the COMMIT only.
            let mut suffixes = Vec::with_capacity(log.len());
            for index in 0..log.len() {
                let index = u16::try_from(index).map_err(|e| StoreError::backend(BACKEND, e))?;
                let position = LogPosition::new(0, index).0;
                suffixes.push(position[8..].to_vec());
            }
            let stmt = client
                .prepare_cached(
                    "WITH stamp AS MATERIALIZED (\
                         SELECT pg_advisory_xact_lock($4) AS locked, \
                                nextval('onsale_log_seq') AS version) \
                     INSERT INTO onsale_kv (k, v) \
                     SELECT $1::bytea || int8send(stamp.version) || entry.suffix, entry.value \
                     FROM stamp, unnest($2::bytea[], $3::bytea[]) AS entry(suffix, value)",
                )
                .await
                .map_err(pg_err)?;
            client
                .execute(&stmt, &[&LOG_PREFIX, &suffixes, &log, &LOG_LOCK])
                .await
                .map_err(pg_err)?;
        }
        // A connection lost during COMMIT leaves its outcome unknown; before it, nothing
        // was written and the loop simply runs the transaction again.
        match client.batch_execute("COMMIT").await.map_err(pg_err) {
            Err(StoreError::Disconnected { .. }) => Err(StoreError::MaybeCommitted),
            outcome => outcome,
        }
    }
}

async fn upsert(client: &Object, keys: &[Vec<u8>], values: &[Vec<u8>]) -> Result<()> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO onsale_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
             ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
        )
        .await
        .map_err(pg_err)?;
    client
        .execute(&stmt, &[&keys, &values])
        .await
        .map_err(pg_err)?;
    Ok(())
}

fn row_pair(row: &Row) -> KeyValue {
    (row.get(0), row.get(1))
}

#[async_trait]
impl Tx for PgTx {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(buffered) = self.pending().writes.get(key) {
            return Ok(buffered.clone());
        }
        let guard = self.client.lock().await;
        let client = guard.as_ref().ok_or(StoreError::Finished)?;
        let stmt = client
            .prepare_cached("SELECT v FROM onsale_kv WHERE k = $1")
            .await
            .map_err(pg_err)?;
        let row = client.query_opt(&stmt, &[&key]).await.map_err(pg_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>> {
        let guard = self.client.lock().await;
        let client = guard.as_ref().ok_or(StoreError::Finished)?;
        self.flush(client).await?;
        let sql = if range.reverse {
            "SELECT k, v FROM onsale_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3"
        } else {
            "SELECT k, v FROM onsale_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3"
        };
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        let limit = (range.limit > 0).then(|| i64::try_from(range.limit).unwrap_or(i64::MAX));
        let rows = client
            .query(&stmt, &[&range.begin, &range.end, &limit])
            .await
            .map_err(pg_err)?;
        Ok(rows.iter().map(row_pair).collect())
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        self.pending()
            .writes
            .insert(key.to_vec(), Some(value.to_vec()));
    }

    fn clear(&self, key: &[u8]) {
        self.pending().writes.insert(key.to_vec(), None);
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()> {
        let guard = self.client.lock().await;
        let client = guard.as_ref().ok_or(StoreError::Finished)?;
        self.flush(client).await?;
        let stmt = client
            .prepare_cached("DELETE FROM onsale_kv WHERE k >= $1 AND k < $2")
            .await
            .map_err(pg_err)?;
        client
            .execute(&stmt, &[&begin, &end])
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        let current = self.get(key).await?;
        let next = crate::decode_counter(current.as_deref()).wrapping_add(delta);
        self.set(key, &next.to_le_bytes());
        Ok(())
    }

    fn append_log(&self, entry: &[u8]) {
        self.pending().log.push(entry.to_vec());
    }

    async fn commit(&self) -> Result<()> {
        let mut guard = self.client.lock().await;
        let client = guard.take().ok_or(StoreError::Finished)?;
        let outcome = self.finish_commit(&client).await;
        if outcome.is_err() && !matches!(outcome, Err(StoreError::MaybeCommitted)) {
            // The transaction is aborted on the server; end it before the connection goes
            // back to the pool, or drop the connection if even that fails.
            if client.batch_execute("ROLLBACK").await.is_err() {
                drop(Object::take(client));
            }
        }
        outcome
    }

    async fn rollback(&self) {
        let client = self.client.lock().await.take();
        if let Some(client) = client
            && client.batch_execute("ROLLBACK").await.is_err()
        {
            drop(Object::take(client));
        }
    }
}
