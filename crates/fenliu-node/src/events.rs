//! Published events: one broadcast channel per shop.
//!
//! Subscribers (Server-Sent Events streams) attach here rather than to the
//! shop actor, so a restarted or passivated actor does not cut them off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fenliu_core::{Event, Millis, ShopId};
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it starts missing some.
const CHANNEL_CAPACITY: usize = 1024;

/// One published event.
#[derive(Clone, Debug)]
pub struct Published {
    /// Sequence number within the shop, for `id:` lines.
    pub seq: u64,
    /// When it was published.
    pub at: Millis,
    /// The event.
    pub event: Event,
}

#[derive(Debug)]
struct Channel {
    tx: broadcast::Sender<Arc<Published>>,
    seq: u64,
}

/// The per-shop channels of a node. Cheap to clone.
///
/// A `std::sync::Mutex` guards the map: lookups are short and never await.
#[derive(Clone, Debug, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<ShopId, Channel>>>,
}

impl EventHub {
    /// Subscribes to a shop's events from now on.
    pub fn subscribe(&self, shop: &ShopId) -> broadcast::Receiver<Arc<Published>> {
        let mut map = self.channels.lock().expect("hub lock");
        map.entry(shop.clone())
            .or_insert_with(|| Channel {
                tx: broadcast::channel(CHANNEL_CAPACITY).0,
                seq: 0,
            })
            .tx
            .subscribe()
    }

    /// Publishes events of a shop, in order.
    pub fn publish(&self, shop: &ShopId, events: Vec<Event>, at: Millis) {
        if events.is_empty() {
            return;
        }
        let mut map = self.channels.lock().expect("hub lock");
        let Some(channel) = map.get_mut(shop) else {
            return;
        };
        for event in events {
            channel.seq += 1;
            // An error only means nobody listens right now.
            let _ = channel.tx.send(Arc::new(Published {
                seq: channel.seq,
                at,
                event,
            }));
        }
        if channel.tx.receiver_count() == 0 {
            map.remove(shop);
        }
    }
}
