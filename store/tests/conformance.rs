//! One conformance suite, run against every store backend available here: fjall always,
//! PostgreSQL always (CI starts it), FoundationDB with the `fdb` feature where
//! `ONSALE_TEST_FDB_CLUSTER` names a cluster file (elsewhere its tests say they skipped);
//! and fjall and PostgreSQL again with their values sealed at rest (`sealed`).

mod backends;

use std::sync::Arc;

use futures::future::join_all;
use onsale_store::log;
use onsale_store::tuple::{Pack, Unpack};
use onsale_store::{
    Counter, LogPosition, RangeRead, Store, StoreError, StoreExt, Table, Text, decode_counter,
};

fn k(s: &str) -> Vec<u8> {
    let mut key = b"\x05test/".to_vec();
    key.extend_from_slice(s.as_bytes());
    key
}

fn test_range() -> RangeRead {
    RangeRead::prefix(b"\x05test/".to_vec())
}

async fn put(store: &dyn Store, pairs: &[(&str, &str)]) {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .iter()
        .map(|(key, value)| (k(key), value.as_bytes().to_vec()))
        .collect();
    store
        .transact(|tx| {
            let pairs = pairs.clone();
            async move {
                for (key, value) in &pairs {
                    tx.set(key, value);
                }
                Ok::<_, StoreError>(())
            }
        })
        .await
        .expect("put");
}

async fn read_range(store: &dyn Store, range: RangeRead) -> Vec<(String, String)> {
    let pairs = store
        .transact(|tx| {
            let range = range.clone();
            async move { tx.get_range(range).await }
        })
        .await
        .expect("range");
    pairs
        .into_iter()
        .map(|(key, value)| {
            (
                String::from_utf8(key[6..].to_vec()).unwrap(),
                String::from_utf8(value).unwrap(),
            )
        })
        .collect()
}

pub async fn ordering_and_range_scans(store: Arc<dyn Store>) {
    put(
        &*store,
        &[("b", "2"), ("a", "1"), ("d", "4"), ("c", "3"), ("ab", "x")],
    )
    .await;
    let all = read_range(&*store, test_range()).await;
    let keys: Vec<_> = all.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["a", "ab", "b", "c", "d"]);

    let limited = read_range(&*store, test_range().limit(2)).await;
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[1].0, "ab");

    let reversed = read_range(&*store, test_range().reverse().limit(2)).await;
    let keys: Vec<_> = reversed.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["d", "c"]);

    let window = read_range(&*store, RangeRead::new(k("ab"), k("c"))).await;
    let keys: Vec<_> = window.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["ab", "b"], "begin is inclusive, end exclusive");

    store
        .transact(|tx| async move { tx.clear_range(&k("ab"), &k("d")).await })
        .await
        .expect("clear_range");
    let rest = read_range(&*store, test_range()).await;
    let keys: Vec<_> = rest.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["a", "d"]);
}

pub async fn read_your_writes(store: Arc<dyn Store>) {
    put(&*store, &[("x", "old"), ("gone", "1")]).await;
    store
        .transact(|tx| async move {
            tx.set(&k("x"), b"new");
            tx.set(&k("y"), b"fresh");
            tx.clear(&k("gone"));
            assert_eq!(tx.get(&k("x")).await?.as_deref(), Some(&b"new"[..]));
            assert_eq!(tx.get(&k("gone")).await?, None);
            let seen: Vec<_> = tx
                .get_range(test_range())
                .await?
                .into_iter()
                .map(|(key, value)| (key[6..].to_vec(), value))
                .collect();
            assert_eq!(
                seen,
                vec![
                    (b"x".to_vec(), b"new".to_vec()),
                    (b"y".to_vec(), b"fresh".to_vec())
                ]
            );
            tx.add(&k("n"), 5).await?;
            tx.add(&k("n"), -2).await?;
            assert_eq!(decode_counter(tx.get(&k("n")).await?.as_deref()), 3);
            Ok::<_, StoreError>(())
        })
        .await
        .expect("transaction");
    let after = read_range(&*store, test_range().limit(3)).await;
    assert_eq!(after[1], ("x".to_string(), "new".to_string()));
}

/// Two transactions each read both keys and write one: under snapshot isolation both
/// commit (write skew); under serializable isolation one must be refused.
pub async fn write_skew_is_refused(store: Arc<dyn Store>) {
    put(&*store, &[("on_call_a", "1"), ("on_call_b", "1")]).await;
    let first = store.begin().await.expect("begin");
    let second = store.begin().await.expect("begin");
    let mut outcomes = Vec::new();
    for (tx, mine) in [(&first, "on_call_a"), (&second, "on_call_b")] {
        let a = tx.get(&k("on_call_a")).await;
        let b = tx.get(&k("on_call_b")).await;
        outcomes.push((a, b));
        tx.set(&k(mine), b"0");
    }
    let first_commit = first.commit().await;
    // PostgreSQL may refuse the second transaction at its next statement or at commit.
    let second_commit = second.commit().await;
    let committed = [first_commit.is_ok(), second_commit.is_ok()];
    assert_eq!(
        committed.iter().filter(|ok| **ok).count(),
        1,
        "exactly one of two write-skewed transactions commits: {first_commit:?} {second_commit:?}"
    );
    let refused = if first_commit.is_err() {
        first_commit
    } else {
        second_commit
    };
    assert!(
        matches!(refused, Err(StoreError::Conflict)),
        "refusal is a retryable conflict: {refused:?}"
    );
    let values = read_range(&*store, test_range()).await;
    let on_call = values.iter().filter(|(_, value)| value == "1").count();
    assert_eq!(
        on_call, 1,
        "the invariant (someone on call) holds: {values:?}"
    );
}

/// Read-modify-write increments from many tasks conflict; the retry loop makes every
/// one of them count exactly once.
pub async fn conflicts_retry_to_correct_result(store: Arc<dyn Store>) {
    let tasks = 64;
    let results = join_all((0..tasks).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .transact(|tx| async move {
                    let current = tx.get(&k("counter")).await?;
                    let n: u64 = current
                        .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
                        .unwrap_or(0);
                    tx.set(&k("counter"), (n + 1).to_string().as_bytes());
                    Ok::<_, StoreError>(())
                })
                .await
        })
    }))
    .await;
    for result in results {
        result
            .expect("task")
            .expect("transaction eventually commits");
    }
    let value = read_range(&*store, test_range()).await;
    assert_eq!(value, vec![("counter".to_string(), tasks.to_string())]);
}

pub async fn atomic_add_under_contention(store: Arc<dyn Store>) {
    let tasks = 64;
    let per_task = 5;
    let results = join_all((0..tasks).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..per_task {
                store
                    .transact(|tx| async move { tx.add(&k("hits"), 1).await })
                    .await?;
            }
            Ok::<_, StoreError>(())
        })
    }))
    .await;
    for result in results {
        result.expect("task").expect("adds commit");
    }
    let value = store
        .transact(|tx| async move { tx.get(&k("hits")).await })
        .await
        .expect("read");
    assert_eq!(decode_counter(value.as_deref()), tasks * per_task);
}

/// Entries appended by concurrent transactions get distinct positions in commit order,
/// and a rolled-back transaction leaves no entry.
pub async fn change_log_follows_commits(store: Arc<dyn Store>) {
    let results = join_all((0..32u32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .transact(|tx| async move {
                    tx.append_log(format!("{i}:first").as_bytes());
                    tx.append_log(format!("{i}:second").as_bytes());
                    Ok::<_, StoreError>(())
                })
                .await
        })
    }))
    .await;
    for result in results {
        result.expect("task").expect("append");
    }
    let aborted: Result<(), StoreError> = store
        .transact(|tx| async move {
            tx.append_log(b"never");
            Err(StoreError::backend("test", "abandoned on purpose"))
        })
        .await;
    assert!(aborted.is_err());

    // A store may show the log up to a horizon that a transaction elsewhere (another test
    // on the same PostgreSQL) holds back for a moment: read it as a follower does, until
    // it shows what committed.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let entries = loop {
        let entries = store
            .transact(|tx| async move { tx.get_range(log::after(None)).await })
            .await
            .expect("read log");
        if entries.len() >= 64 || tokio::time::Instant::now() >= deadline {
            break entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(entries.len(), 64);
    let positions: Vec<LogPosition> = entries
        .iter()
        .map(|(key, _)| log::position(key).expect("log key"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    for pair in entries.chunks(2) {
        let first = String::from_utf8(pair[0].1.clone()).unwrap();
        let second = String::from_utf8(pair[1].1.clone()).unwrap();
        let (who, what) = first.split_once(':').unwrap();
        assert_eq!(what, "first");
        assert_eq!(
            second,
            format!("{who}:second"),
            "a transaction's entries are adjacent"
        );
    }
    let after_tenth = log::after(Some(positions[9]));
    let rest = store
        .transact(|tx| {
            let range = after_tenth.clone();
            async move { tx.get_range(range).await }
        })
        .await
        .expect("read log tail");
    assert_eq!(rest.len(), 54);
}

/// A follower reading the log while writers commit misses no entry and sees none twice:
/// whatever order positions are drawn in, an entry never becomes visible behind a
/// position a reader has already passed; and the entries of one writer, whose
/// transactions follow each other, come in that order.
pub async fn followers_miss_nothing_while_writers_commit(store: Arc<dyn Store>) {
    const WRITERS: u32 = 8;
    const EACH: u32 = 40;
    let expected = (WRITERS * EACH) as usize;
    let follower = tokio::spawn({
        let store = store.clone();
        async move {
            let mut seen: Vec<(LogPosition, String)> = Vec::with_capacity(expected);
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            while seen.len() < expected && tokio::time::Instant::now() < deadline {
                let after = seen.last().map(|(position, _)| *position);
                let batch = store
                    .transact(|tx| async move { tx.get_range(log::after(after)).await })
                    .await
                    .expect("read the log");
                for (key, value) in batch {
                    let position = log::position(&key).expect("a log key");
                    seen.push((position, String::from_utf8(value).expect("text")));
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            seen
        }
    });
    let writers = join_all((0..WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..EACH {
                store
                    .transact(|tx| async move {
                        tx.set(&k(&format!("writer-{writer}")), &n.to_le_bytes());
                        tx.append_log(format!("{writer}:{n}").as_bytes());
                        Ok::<_, StoreError>(())
                    })
                    .await
                    .expect("append");
            }
        })
    }))
    .await;
    for writer in writers {
        writer.expect("writer task");
    }
    let seen = follower.await.expect("follower task");
    assert_eq!(seen.len(), expected, "the follower saw every entry once");
    assert!(seen.windows(2).all(|pair| pair[0].0 < pair[1].0));
    for writer in 0..WRITERS {
        let mine: Vec<u32> = seen
            .iter()
            .filter_map(|(_, entry)| {
                let (who, n) = entry.split_once(':')?;
                (who == writer.to_string()).then(|| n.parse().expect("a number"))
            })
            .collect();
        assert_eq!(
            mine,
            (0..EACH).collect::<Vec<_>>(),
            "writer {writer}'s order"
        );
    }
}

/// A key element that is always the byte `N`: it tells apart tables under one prefix.
#[derive(Debug, PartialEq)]
struct Part<const N: u8>;

impl<const N: u8> Pack<Part<N>> for Part<N> {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(N);
    }
}

impl<const N: u8> Unpack for Part<N> {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        let (&part, rest) = input.split_first()?;
        *input = rest;
        (part == N).then_some(Part)
    }
}

const NAMES: Table<(u64, Part<0>), String, Text> = Table::new(b"\x05tab/");
const COUNTS: Table<(u64, Part<1>), i64, Counter> = Table::new(b"\x05tab/");

pub async fn typed_tables(store: Arc<dyn Store>) {
    store
        .transact(|tx| async move {
            for id in 1..=3u64 {
                NAMES.set(&tx, &(id, Part), &format!("n{id}"))?;
                COUNTS.add(&tx, &(id, Part), id as i64).await?;
            }
            NAMES.clear(&tx, &(3u64, Part));
            Ok::<_, StoreError>(())
        })
        .await
        .expect("write");
    let (names, counts, second) = store
        .transact(|tx| async move {
            let names = NAMES.range_matching(&tx, NAMES.all()).await?;
            let counts = COUNTS.range_matching(&tx, COUNTS.all()).await?;
            let second = NAMES.get(&tx, &(2u64, Part)).await?;
            Ok::<_, StoreError>((names, counts, second))
        })
        .await
        .expect("read");
    let names: Vec<_> = names.into_iter().map(|((id, _), n)| (id, n)).collect();
    assert_eq!(names, [(1, "n1".to_string()), (2, "n2".to_string())]);
    let counts: Vec<_> = counts.into_iter().map(|((id, _), n)| (id, n)).collect();
    assert_eq!(counts, [(1, 1), (2, 2), (3, 3)]);
    assert_eq!(second.as_deref(), Some("n2"));
    let mixed = store
        .transact(|tx| async move { NAMES.range(&tx, NAMES.all()).await })
        .await;
    assert!(mixed.is_err(), "a plain range refuses another table's keys");
}

macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn ordering_and_range_scans() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::ordering_and_range_scans(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn read_your_writes() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::read_your_writes(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn write_skew_is_refused() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::write_skew_is_refused(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn conflicts_retry_to_correct_result() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::conflicts_retry_to_correct_result(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn atomic_add_under_contention() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::atomic_add_under_contention(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn change_log_follows_commits() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::change_log_follows_commits(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn followers_miss_nothing_while_writers_commit() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::followers_miss_nothing_while_writers_commit(t.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn typed_tables() {
                let Some(t) = $make.await else {
                    eprintln!("skipped: no {} store here", stringify!($backend));
                    return;
                };
                super::typed_tables(t.store.clone()).await;
            }
        }
    };
}

conformance!(fjall, async { Some(backends::fjall_store().await) });
conformance!(postgres, async { Some(backends::pg_store().await) });
conformance!(sealed_fjall, async {
    Some(backends::sealed(backends::fjall_store().await).0)
});
conformance!(sealed_postgres, async {
    Some(backends::sealed(backends::pg_store().await).0)
});
#[cfg(feature = "fdb")]
conformance!(fdb, backends::fdb_store());
