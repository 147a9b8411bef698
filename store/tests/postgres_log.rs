//! PostgreSQL's change-log positions after a restore into another cluster, whose
//! transaction ids may run below the positions the log already holds.

use onsale_store::testing::TestDb;
use onsale_store::{LogPosition, RetryPolicy, StoreError, StoreExt, log};

#[tokio::test]
async fn positions_stay_above_a_restored_log() {
    let db = TestDb::create().await;
    let store = onsale_store::open(&db.url, RetryPolicy::default())
        .await
        .expect("open postgres");
    // A log as a restore would leave it: an entry far above this cluster's ids.
    let restored = LogPosition::new(1 << 40, 0);
    store
        .transact(|tx| async move {
            tx.set(&log::key(restored), b"restored");
            Ok::<_, StoreError>(())
        })
        .await
        .expect("write the restored entry");
    drop(store);

    // Opening the store again raises the offset: new entries land after it.
    let store = onsale_store::open(&db.url, RetryPolicy::default())
        .await
        .expect("open postgres again");
    store
        .transact(|tx| async move {
            tx.append_log(b"new");
            Ok::<_, StoreError>(())
        })
        .await
        .expect("append");
    let entries = store
        .transact(|tx| async move { tx.get_range(log::after(Some(restored))).await })
        .await
        .expect("read the log");
    let values: Vec<&[u8]> = entries.iter().map(|(_, value)| value.as_slice()).collect();
    assert_eq!(values, [b"new".as_slice()]);
    let position = log::position(&entries[0].0).expect("a log key");
    assert!(position.version() > restored.version());
}
