//! The embedded in-memory store: a single node's default.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};

use crate::{Batch, Fence, ShopStore, StoreError};

type Records = BTreeMap<String, (Vec<u8>, Option<Millis>)>;

/// Shops kept in this process's memory. Cheap to clone: clones share the data.
///
/// A `std::sync::Mutex` is enough: every critical section is a few map
/// operations with no await inside, so contention stays short.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    shops: Arc<Mutex<HashMap<ShopId, Records>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ShopStore for MemoryStore {
    async fn load(&self, shop: &ShopId, now: Millis) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let shops = self.shops.lock().expect("store lock");
        Ok(shops
            .get(shop)
            .map(|records| {
                records
                    .iter()
                    .filter(|(_, (_, exp))| exp.is_none_or(|t| t > now))
                    .map(|(k, (v, _))| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn write(
        &self,
        shop: &ShopId,
        _fence: &Fence,
        batch: Batch,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut shops = self.shops.lock().expect("store lock");
        let records = shops.entry(shop.clone()).or_default();
        for key in batch.deletes {
            records.remove(&key);
        }
        for put in batch.puts {
            records.insert(put.key, (put.value, put.expires_at));
        }
        records.retain(|_, (_, exp)| exp.is_none_or(|t| t > now));
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_contract_tests!(async { MemoryStore::new() });
}
