//! The contract every [`ShopStore`](crate::ShopStore) implementation passes.
//!
//! Modelled on quickwit's metastore test suite: each test is a plain async
//! function over a store, and [`store_contract_tests!`](crate::store_contract_tests)
//! instantiates all of them for one implementation.

use fenliu_core::{Millis, ShopId};

use crate::{Batch, Fence, Put, ShopStore};

fn shop(name: &str) -> ShopId {
    ShopId::parse(name).expect("valid shop id")
}

fn fence() -> Fence {
    Fence {
        node_id: "test".into(),
        epoch: 1,
    }
}

fn put(key: &str, value: &[u8], expires_at: Option<Millis>) -> Put {
    Put {
        key: key.into(),
        value: value.to_vec(),
        expires_at,
    }
}

const NOW: Millis = 1_795_363_200_000;

/// A shop never written loads as empty.
pub async fn unknown_shop_loads_empty(store: impl ShopStore) {
    assert!(store.load(&shop("never"), NOW).await.unwrap().is_empty());
}

/// What one batch puts, a later load returns.
pub async fn written_records_load_back(store: impl ShopStore) {
    let s = shop("contract-a");
    let batch = Batch {
        puts: vec![put("meta", b"1", None), put("agent:a1", b"2", None)],
        deletes: vec![],
    };
    store.write(&s, &fence(), batch, NOW).await.unwrap();
    let mut got = store.load(&s, NOW).await.unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("agent:a1".to_string(), b"2".to_vec()),
            ("meta".to_string(), b"1".to_vec())
        ]
    );
}

/// Deletes remove records and puts overwrite them.
pub async fn deletes_and_overwrites_apply(store: impl ShopStore) {
    let s = shop("contract-b");
    let first = Batch {
        puts: vec![put("a", b"1", None), put("b", b"1", None)],
        deletes: vec![],
    };
    store.write(&s, &fence(), first, NOW).await.unwrap();
    let second = Batch {
        puts: vec![put("b", b"2", None)],
        deletes: vec!["a".into()],
    };
    store.write(&s, &fence(), second, NOW).await.unwrap();
    assert_eq!(
        store.load(&s, NOW).await.unwrap(),
        vec![("b".to_string(), b"2".to_vec())]
    );
}

/// Records with an expiry are gone once it passes.
pub async fn expired_records_are_not_loaded(store: impl ShopStore) {
    let s = shop("contract-c");
    let batch = Batch {
        puts: vec![put("recent:b1", b"x", Some(NOW + 1_000)), put("keep", b"y", None)],
        deletes: vec![],
    };
    store.write(&s, &fence(), batch, NOW).await.unwrap();
    assert_eq!(store.load(&s, NOW).await.unwrap().len(), 2);
    let later = store.load(&s, NOW + 1_000).await.unwrap();
    assert_eq!(later, vec![("keep".to_string(), b"y".to_vec())]);
}

/// Shops do not see each other's records.
pub async fn shops_are_isolated(store: impl ShopStore) {
    let batch = Batch {
        puts: vec![put("meta", b"1", None)],
        deletes: vec![],
    };
    store
        .write(&shop("contract-d"), &fence(), batch, NOW)
        .await
        .unwrap();
    assert!(store.load(&shop("contract-e"), NOW).await.unwrap().is_empty());
}

/// The store answers a ping.
pub async fn ping_answers(store: impl ShopStore) {
    store.ping().await.unwrap();
}

/// Instantiates the contract suite for a store built by `$make` (an async block).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@tests $make;
            unknown_shop_loads_empty,
            written_records_load_back,
            deletes_and_overwrites_apply,
            expired_records_are_not_loaded,
            shops_are_isolated,
            ping_answers,
        );
    };
    (@tests $make:expr; $($name:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $make.await;
                $crate::contract::$name(store).await;
            }
        )*
    };
}
