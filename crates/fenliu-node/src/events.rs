//! Published events: one broadcast channel per shop on each node.
//!
//! Subscribers (Server-Sent Events streams) attach here rather than to the
//! shop actor, so a restarted, passivated or moved actor does not cut them
//! off. On the in-memory store the shop actor publishes straight into the
//! hub; with a shared store the events are appended to the shop's stream in
//! the same write as the state, and a reader on every node that has
//! subscribers copies them into its hub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fenliu_core::{Event, Millis, ShopId};
use serde_json::{json, Value};
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it starts missing some.
const CHANNEL_CAPACITY: usize = 1024;

/// One published event.
#[derive(Clone, Debug)]
pub struct Published {
    /// Its id in the shop's stream (`id:` of SSE).
    pub id: String,
    /// The event name, e.g. `conversation.assigned`.
    pub name: String,
    /// When it happened.
    pub at: Millis,
    /// Its fields.
    pub data: Value,
}

impl Published {
    /// Whether an agent should see it among its own events.
    pub fn concerns(&self, agent: &str) -> bool {
        self.data["agent_id"] == agent || self.data["from_agent_id"] == agent
    }
}

/// The stored form of an event.
pub fn encode(event: &Event, at: Millis) -> Vec<u8> {
    let data = serde_json::to_value(event).expect("events serialize");
    serde_json::to_vec(&json!({"name": event.name(), "at": at, "data": data}))
        .expect("json encodes")
}

/// Reads an event written by [`encode`].
pub fn decode(id: String, bytes: &[u8]) -> Option<Published> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    Some(Published {
        id,
        name: v["name"].as_str()?.to_owned(),
        at: v["at"].as_i64()?,
        data: v["data"].clone(),
    })
}

#[derive(Debug)]
struct Channel {
    tx: broadcast::Sender<Arc<Published>>,
    seq: u64,
    generation: u64,
}

/// The per-shop channels of a node. Cheap to clone.
///
/// A `std::sync::Mutex` guards the map: lookups are short and never await.
#[derive(Clone, Debug, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<ShopId, Channel>>>,
    generations: Arc<std::sync::atomic::AtomicU64>,
}

impl EventHub {
    /// Subscribes to a shop's events from now on. When the shop had no
    /// channel on this node before, also returns the new channel's
    /// generation (for the stream reader that feeds it).
    pub fn subscribe(&self, shop: &ShopId) -> (broadcast::Receiver<Arc<Published>>, Option<u64>) {
        let mut map = self.channels.lock().expect("hub lock");
        let mut fresh = None;
        let channel = map.entry(shop.clone()).or_insert_with(|| {
            let generation = self
                .generations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            fresh = Some(generation);
            Channel {
                tx: broadcast::channel(CHANNEL_CAPACITY).0,
                seq: 0,
                generation,
            }
        });
        (channel.tx.subscribe(), fresh)
    }

    /// Publishes events that happened in this process (in-memory store).
    pub fn publish(&self, shop: &ShopId, events: Vec<Event>, at: Millis) {
        let mut map = self.channels.lock().expect("hub lock");
        let Some(channel) = map.get_mut(shop) else {
            return;
        };
        for event in events {
            channel.seq += 1;
            let data = serde_json::to_value(&event).expect("events serialize");
            // An error only means nobody listens right now.
            let _ = channel.tx.send(Arc::new(Published {
                id: channel.seq.to_string(),
                name: event.name().to_owned(),
                at,
                data,
            }));
        }
    }

    /// Publishes events read from the shop's stream.
    pub fn publish_read(&self, shop: &ShopId, events: Vec<Published>) {
        let map = self.channels.lock().expect("hub lock");
        if let Some(channel) = map.get(shop) {
            for e in events {
                let _ = channel.tx.send(Arc::new(e));
            }
        }
    }

    /// Whether anybody on this node still listens to the shop's channel of
    /// `generation`; forgets the channel when nobody does.
    pub fn retain(&self, shop: &ShopId, generation: u64) -> bool {
        let mut map = self.channels.lock().expect("hub lock");
        let Some(c) = map.get(shop) else { return false };
        if c.generation != generation {
            return false;
        }
        let listened = c.tx.receiver_count() > 0;
        if !listened {
            map.remove(shop);
        }
        listened
    }
}
