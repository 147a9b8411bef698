//! Data at rest: a coordinator on a sealed store keeps working through its API, while
//! what the backend holds reveals none of the personal data or secrets it was given, and
//! a coordinator with the wrong key refuses to start rather than read garbage.

mod common;

use std::sync::Arc;

use onsale_store::sealed::{SealKey, SealedStore, Sealer};
use onsale_store::{RangeRead, StoreError, StoreExt};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_store_hides_personal_data_and_secrets_from_the_backend() {
    let (store, raw) = common::sealed(common::fjall_store().await);
    let s = common::serve(store).await;
    let event = s.create_event("Sealed Night", 1, 1, 10).await;

    let signup = json!({"username": "margaret_h", "email": "margaret.hamilton@example.org",
        "phone": "+15550001969", "password": "apollo guidance"});
    let created = s
        .http
        .post(format!("{}/v1/users", s.url))
        .json(&signup)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let session: Value = s
        .http
        .post(format!("{}/v1/sessions", s.url))
        .json(&json!({"username": "margaret_h", "password": "apollo guidance"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"]
        .as_str()
        .expect("signed in through the seal");
    let hold = s.hold(token, event, &["S0-R0-1"]).await;
    assert!(!hold.is_empty());

    // Everything the backend holds, read around the seal.
    let everything = raw
        .transact(|tx| async move { tx.get_range(RangeRead::new(vec![0x00], vec![0xff])).await })
        .await
        .expect("read the raw store");
    assert!(everything.len() > 10, "the store holds the records");
    let operator = s.operator();
    for secret in [
        "margaret_h",
        "margaret.hamilton@example.org",
        "+15550001969",
        "Sealed Night",
        operator.as_str(),
    ] {
        for (key, value) in &everything {
            assert!(
                !value.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} is readable in the value of key {key:02x?}"
            );
        }
    }

    // The same backend opened with another key: the coordinator will not start.
    let wrong = Arc::new(SealedStore::new(
        raw.clone(),
        Sealer::new(SealKey::new([0x11; 32]), Vec::new()),
    ));
    let started = onsale_coordinator::Coordinator::new(
        wrong.clone(),
        Arc::new(onsale_coordinator::clock::ManualClock::new(
            1_800_000_000_000,
        )),
        onsale_coordinator::Settings::default(),
    )
    .await;
    assert!(started.is_err(), "a coordinator with the wrong key started");
    let read = wrong
        .transact(|tx| async move { tx.get_range(RangeRead::new(vec![0x30], vec![0x31])).await })
        .await;
    assert!(
        matches!(read, Err(StoreError::Backend { .. })),
        "reading users with the wrong key must fail, not return garbage"
    );
}
