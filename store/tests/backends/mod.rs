//! Fresh stores on every backend that can run here, each kept alive by a [`TestStore`].

use std::sync::Arc;

use onsale_store::sealed::{SealKey, SealedStore, Sealer};
use onsale_store::{RetryPolicy, Store};

use onsale_store::testing::TestDb;

/// A store and whatever keeps it alive (its folder or database).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDb>,
}

/// A fresh fjall store in a temporary folder.
pub async fn fjall_store() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = onsale_store::open(
        &format!("fjall:{}", dir.path().display()),
        RetryPolicy::default(),
    )
    .await
    .expect("open fjall");
    TestStore {
        store,
        _dir: Some(dir),
        _db: None,
    }
}

/// A fresh PostgreSQL store in its own database.
pub async fn pg_store() -> TestStore {
    let db = TestDb::create().await;
    let store = onsale_store::open(&db.url, RetryPolicy::default())
        .await
        .expect("open postgres");
    TestStore {
        store,
        _dir: None,
        _db: Some(db),
    }
}

/// `t`'s store with its values sealed at rest (a fixed test key); the unsealed store stays
/// reachable as the second element, to look at what the backend holds.
pub fn sealed(t: TestStore) -> (TestStore, Arc<dyn Store>) {
    let raw = t.store.clone();
    let sealer = Sealer::new(SealKey::new([0x5e; 32]), Vec::new());
    let sealed = TestStore {
        store: Arc::new(SealedStore::new(raw.clone(), sealer)),
        ..t
    };
    (sealed, raw)
}

/// A FoundationDB store on the cluster named by `ONSALE_TEST_FDB_CLUSTER`, or `None`
/// where there is none. The cluster is emptied first: point this at a test cluster only.
#[cfg(feature = "fdb")]
pub async fn fdb_store() -> Option<TestStore> {
    use onsale_store::StoreExt;
    let cluster = std::env::var("ONSALE_TEST_FDB_CLUSTER").ok()?;
    let store = onsale_store::open(&format!("fdb:{cluster}"), RetryPolicy::default())
        .await
        .expect("open fdb");
    store
        .transact(|tx| async move { tx.clear_range(&[0x00], &[0xff]).await })
        .await
        .expect("clear the test cluster");
    Some(TestStore {
        store,
        _dir: None,
        _db: None,
    })
}
