//! Shop ownership: the leases this node holds and how long it may trust them.
//!
//! A lease is trusted until `valid_until`, measured on this node's monotonic
//! clock from the moment the acquire or renew request was *sent*: Redis
//! started the time to live later than that, so the node stops serving the
//! shop before Redis lets anyone else take it (minus a safety margin for
//! clock rate differences). Writes are fenced in the store as well, so even
//! a node that was paused past that point cannot write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fenliu_core::ShopId;
use fenliu_store::Fence;

/// A lease held by this node.
#[derive(Clone, Debug)]
pub struct Held {
    /// The fence to write with.
    pub fence: Fence,
    /// Until when this node may serve the shop.
    pub valid_until: Instant,
    /// When this node took the lease (kept across renewals).
    pub since: Instant,
}

/// The leases of this node. Cheap to clone.
///
/// A `std::sync::Mutex`: every access is a map lookup or insert, never held
/// across an await.
#[derive(Clone, Debug)]
pub struct Leases {
    inner: Arc<Mutex<HashMap<ShopId, Held>>>,
    ttl: Duration,
}

impl Leases {
    /// Leases of `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::default(),
            ttl,
        }
    }

    /// The lease time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long after sending a request a lease may be trusted.
    pub fn trust(&self) -> Duration {
        let margin = (self.ttl / 5).max(Duration::from_millis(50));
        self.ttl.saturating_sub(margin)
    }

    /// The valid lease of `shop`, if any.
    pub fn valid(&self, shop: &ShopId) -> Option<Fence> {
        let map = self.inner.lock().expect("leases lock");
        map.get(shop)
            .filter(|h| h.valid_until > Instant::now())
            .map(|h| h.fence.clone())
    }

    /// Whether `fence` is still this node's valid lease of `shop`.
    pub fn holds(&self, shop: &ShopId, fence: &Fence) -> bool {
        self.valid(shop).as_ref() == Some(fence)
    }

    /// Records a lease obtained or renewed by a request sent at `sent`.
    pub fn record(&self, shop: ShopId, fence: Fence, sent: Instant) {
        let mut map = self.inner.lock().expect("leases lock");
        let since = map
            .get(&shop)
            .filter(|h| h.fence == fence)
            .map_or(sent, |h| h.since);
        let held = Held {
            fence,
            valid_until: sent + self.trust(),
            since,
        };
        map.insert(shop, held);
    }

    /// Leases taken more than `age` ago, with when they were taken.
    pub fn older_than(&self, age: std::time::Duration) -> Vec<(ShopId, Fence)> {
        let map = self.inner.lock().expect("leases lock");
        map.iter()
            .filter(|(_, h)| h.since.elapsed() > age)
            .map(|(s, h)| (s.clone(), h.fence.clone()))
            .collect()
    }

    /// Forgets a lease (lost or released).
    pub fn forget(&self, shop: &ShopId, fence: &Fence) {
        let mut map = self.inner.lock().expect("leases lock");
        if map.get(shop).is_some_and(|h| &h.fence == fence) {
            map.remove(shop);
        }
    }

    /// Every lease held, valid or not.
    pub fn all(&self) -> Vec<(ShopId, Fence)> {
        let map = self.inner.lock().expect("leases lock");
        map.iter()
            .map(|(s, h)| (s.clone(), h.fence.clone()))
            .collect()
    }
}
