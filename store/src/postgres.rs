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
//! Change-log positions come from transaction ids, with no lock: a transaction's entries
//! are keyed by its id (`pg_current_xact_id()`, plus the database's log offset), and a
//! read of the log sees only entries below its snapshot's `xmin`, the oldest transaction
//! still running. Every transaction below `xmin` has ended, so those entries are final;
//! any entry that commits later belongs to a transaction at or above `xmin`, so it lands
//! after every position a reader has been given: followers skip nothing. Two committed
//! transactions that touch one key are ordered alike by id and by commit (under
//! SERIALIZABLE the later one's snapshot, hence its id, follows the earlier's commit), so
//! per key the log is in commit order; unrelated transactions may come in either order,
//! as a serial history allows. A long-running writing transaction holds the log back
//! (never out of order) until it ends.
//!
//! The offset (`onsale_log_offset`) keeps positions growing across a restore into another
//! cluster, whose transaction ids may start below the positions already written: opening
//! the store raises it so the next position is above the newest entry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use crate::log::{LOG_PREFIX, LogPosition};
use crate::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

const BACKEND: &str = "postgres";
/// Advisory-lock id that serialises schema set-up across processes ("onsale" in ASCII).
const SETUP_LOCK: i64 = 0x6f6e_73616c65;

/// The version every log entry of the running transaction gets: its id plus the offset.
const LOG_VERSION: &str = "((SELECT o FROM onsale_log_offset) + pg_current_xact_id()::text::int8)";

/// The first key of the log that this transaction's snapshot may not see yet: the log
/// prefix and the version of its `xmin` (`$4` is the prefix).
const LOG_HORIZON: &str = "($4::bytea || int8send((SELECT o FROM onsale_log_offset) \
     + pg_snapshot_xmin(pg_current_snapshot())::text::int8))";

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

    /// Creates the tables and raises the log offset so that the next position is above
    /// the newest entry; safe to run from several processes at once.
    async fn migrate(&self) -> Result<()> {
        let client = self.client().await?;
        let log_end = crate::tuple::prefix_end(LOG_PREFIX);
        client
            .batch_execute(&format!(
                "SELECT pg_advisory_lock({SETUP_LOCK});
                 CREATE TABLE IF NOT EXISTS onsale_kv (k bytea PRIMARY KEY, v bytea NOT NULL);
                 CREATE TABLE IF NOT EXISTS onsale_log_offset (o int8 NOT NULL);
                 INSERT INTO onsale_log_offset SELECT 0
                     WHERE NOT EXISTS (SELECT FROM onsale_log_offset);"
            ))
            .await
            .map_err(pg_err)?;
        let raised = raise_log_offset(&client, &log_end).await;
        let unlocked = client
            .batch_execute(&format!("SELECT pg_advisory_unlock({SETUP_LOCK});"))
            .await;
        raised?;
        unlocked.map_err(pg_err)
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
            // The entries are keyed by this transaction's id: no lock, no sequence.
            let mut suffixes = Vec::with_capacity(log.len());
            for index in 0..log.len() {
                let index = u16::try_from(index).map_err(|e| StoreError::backend(BACKEND, e))?;
                let position = LogPosition::new(0, index).0;
                suffixes.push(position[8..].to_vec());
            }
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO onsale_kv (k, v) \
                     SELECT $1::bytea || int8send({LOG_VERSION}) || entry.suffix, entry.value \
                     FROM unnest($2::bytea[], $3::bytea[]) AS entry(suffix, value)"
                ))
                .await
                .map_err(pg_err)?;
            client
                .execute(&stmt, &[&LOG_PREFIX, &suffixes, &log])
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

/// Raises the log offset, if need be, so that the next position is above the newest
/// entry (after a restore into a cluster whose transaction ids are lower).
async fn raise_log_offset(client: &Object, log_end: &[u8]) -> Result<()> {
    let newest = client
        .query_opt(
            "SELECT k FROM onsale_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT 1",
            &[&LOG_PREFIX, &log_end],
        )
        .await
        .map_err(pg_err)?
        .and_then(|row| crate::log::position(row.get::<_, &[u8]>(0)))
        .map(|position| i64::try_from(position.version()).unwrap_or(i64::MAX));
    let Some(newest) = newest else {
        return Ok(());
    };
    let next: i64 = client
        .query_one(&format!("SELECT {LOG_VERSION}"), &[])
        .await
        .map_err(pg_err)?
        .get(0);
    if newest >= next {
        client
            .execute(
                "UPDATE onsale_log_offset SET o = o + $1",
                &[&(newest - next + 1)],
            )
            .await
            .map_err(pg_err)?;
    }
    Ok(())
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
        let order = if range.reverse { "DESC" } else { "ASC" };
        let limit = (range.limit > 0).then(|| i64::try_from(range.limit).unwrap_or(i64::MAX));
        let log_end = crate::tuple::prefix_end(LOG_PREFIX);
        let rows = if range.begin < log_end && range.end.as_slice() > LOG_PREFIX {
            // The log's part of the range stops at this snapshot's horizon.
            let sql = format!(
                "SELECT k, v FROM onsale_kv WHERE k >= $1 AND k < $2 \
                 AND NOT (k >= {LOG_HORIZON} AND k < $5) ORDER BY k {order} LIMIT $3"
            );
            let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&range.begin, &range.end, &limit, &LOG_PREFIX, &log_end];
            client.query(&stmt, &params).await.map_err(pg_err)?
        } else {
            let sql = format!(
                "SELECT k, v FROM onsale_kv WHERE k >= $1 AND k < $2 ORDER BY k {order} LIMIT $3"
            );
            let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
            client
                .query(&stmt, &[&range.begin, &range.end, &limit])
                .await
                .map_err(pg_err)?
        };
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
