//! Event streams: a subscriber attaches to this node's hub, and one reader
//! per shop with subscribers here copies the shop's stored stream into it.

use std::time::Duration;

use fenliu_core::ShopId;
use fenliu_store::EventId;
use tracing::{instrument, warn};

use super::{Node, READER_START};
use crate::error::NodeError;
use crate::events::{self, Subscription};

impl Node {
    /// Subscribes to a shop's events, wherever the shop is served: from now
    /// on, or first the stored events after `after` (a client resuming).
    ///
    /// Answers once the shop's stream reader on this node is reading, so
    /// that no event appended after this returns can be missed, and (when
    /// resuming) once the first page of stored events has been read: a store
    /// that does not answer is an error here, not a silently short stream.
    /// `after` is the id and its text as the client sent it (for notices).
    #[instrument(skip_all, fields(shop_id = %shop, after = after.as_ref().map(|(_, raw)| raw.as_str())))]
    pub async fn subscribe(
        &self,
        shop: &ShopId,
        after: Option<(EventId, String)>,
    ) -> Result<Subscription, NodeError> {
        let mut attached = self.hub.subscribe(shop);
        if let Some(generation) = attached.fresh {
            actix::spawn(self.clone().read_stream(shop.clone(), generation));
        }
        match tokio::time::timeout(READER_START, attached.ready.wait_for(|ready| *ready)).await {
            Ok(Ok(_)) => {}
            _ => {
                warn!("the shop's event stream reader did not start");
                return Err(NodeError::Unavailable);
            }
        }
        let mut sub = Subscription::new(shop.clone(), self.store.clone(), attached.rx, after);
        sub.read_page().await?;
        Ok(sub)
    }

    /// Copies a shop's event stream into this node's hub while anybody here listens.
    async fn read_stream(self, shop: ShopId, generation: u64) {
        // Start from the newest id (not `$`), so nothing written between
        // two reads is missed.
        let mut last = loop {
            match self.store.last_event_id(&shop).await {
                Ok(id) => break id,
                Err(_) if self.hub.retain(&shop, generation) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(_) => return,
            }
        };
        self.hub.mark_ready(&shop, generation);
        while self.hub.retain(&shop, generation) {
            match self.store.read_events(&shop, &last, 1_000).await {
                Ok(read) => {
                    let mut out = Vec::with_capacity(read.len());
                    for (id, bytes) in read {
                        last = id.clone();
                        out.extend(events::decode(id, &bytes));
                    }
                    self.hub.publish_read(&shop, out);
                }
                Err(e) => {
                    warn!(shop_id = %shop, error = %e, "cannot read the event stream");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}
