//! The lease keeper: renews the leases this node holds and its heartbeat,
//! evicts the shops whose lease was lost, and gives back idle leases.

use std::time::Instant;

use futures::StreamExt;
use tracing::warn;

use super::Node;
use crate::gateway::{Evict, LiveShopIds};

impl Node {
    /// Renews the held leases and the node's heartbeat every third of the TTL.
    pub(super) async fn maintain_leases(self) {
        let ttl = self.leases.ttl();
        let ttl_ms = ttl.as_millis() as u64;
        let mut every = tokio::time::interval(ttl / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if !self.is_draining() {
                let url = self.config.advertise_url.clone();
                let _ = self.store.register_node(self.node_id(), &url, ttl_ms).await;
            }
            // Renew concurrently: one round trip per lease, many in flight.
            let renewals = futures::stream::iter(self.leases.all())
                .map(|(shop, fence)| {
                    let store = self.store.clone();
                    async move {
                        let sent = Instant::now();
                        let renewed = store.renew(&shop, &fence, ttl_ms).await;
                        (shop, fence, sent, renewed)
                    }
                })
                .buffer_unordered(64)
                .collect::<Vec<_>>()
                .await;
            for (shop, fence, sent, renewed) in renewals {
                match renewed {
                    Ok(true) => self.leases.record(shop, fence, sent),
                    Ok(false) => {
                        warn!(shop_id = %shop, epoch = fence.epoch, "lease lost");
                        self.leases.forget(&shop, &fence);
                        self.gateway.do_send(Evict(shop));
                    }
                    // The store is unreachable: the lease lapses on its own
                    // (locally first) unless a later renewal succeeds.
                    Err(_) => self
                        .metrics
                        .store_errors
                        .with_label_values(&["renew"])
                        .inc(),
                }
            }
            // A lease taken for a request that never reached a shop actor
            // (say, an `owner` query) is given back once it has sat idle.
            let live = self.gateway.send(LiveShopIds).await.unwrap_or_default();
            for (shop, fence) in self.leases.older_than(ttl) {
                if !live.contains(&shop) {
                    self.leases.forget(&shop, &fence);
                    let _ = self.store.release(&shop, &fence).await;
                }
            }
        }
    }
}
