//! Published events: one broadcast channel per shop on each node, and the
//! subscriptions that join a catch-up read of the shop's stream to it.
//!
//! Subscribers (Server-Sent Events streams) attach here rather than to the
//! shop actor, so a restarted, passivated or moved actor does not cut them
//! off. Every store keeps a stream of each shop's events, appended in the
//! same write as the state; a reader on every node that has subscribers
//! copies new entries into its hub, so a published event has an id in the
//! stream and a client can resume after it ([`Subscription`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use fenliu_core::{AgentId, Event, Millis, ShopId};
use fenliu_store::{EventId, ShopStore, StoreError};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tracing::warn;

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
    /// The agents who see it among their own ([`Event::agents`], decided by
    /// the core when the event was stored).
    pub agents: Vec<String>,
}

impl Published {
    /// Whether an agent should see it among its own events.
    pub fn concerns(&self, agent: &str) -> bool {
        self.agents.iter().any(|a| a == agent)
    }
}

/// The stored form of an event: `{"name", "at", "data", "agents"}` in JSON.
#[derive(Serialize)]
struct Stored<'a> {
    name: &'static str,
    at: Millis,
    data: &'a Event,
    agents: Vec<&'a AgentId>,
}

/// The stored form of an event, written in one pass (no JSON tree between).
pub fn encode(event: &Event, at: Millis) -> Vec<u8> {
    serde_json::to_vec(&Stored {
        name: event.name(),
        at,
        data: event,
        agents: event.agents().collect(),
    })
    .expect("events serialize")
}

/// Reads an event written by [`encode`].
pub fn decode(id: String, bytes: &[u8]) -> Option<Published> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    Some(Published {
        id,
        name: v["name"].as_str()?.to_owned(),
        at: v["at"].as_i64()?,
        data: v["data"].clone(),
        // An event stored before the list was written concerns no agent's
        // own stream (it still reaches every shop-wide subscriber).
        agents: v["agents"]
            .as_array()
            .map(|agents| {
                agents
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[derive(Debug)]
struct Channel {
    tx: broadcast::Sender<Arc<Published>>,
    /// True once the stream reader knows where it starts: from then on every
    /// event appended to the stream reaches the channel.
    ready: watch::Sender<bool>,
    generation: u64,
}

/// A new receiver of a shop's channel.
#[derive(Debug)]
pub struct Attached {
    /// The events from now on.
    pub rx: broadcast::Receiver<Arc<Published>>,
    /// Turns true once the channel's stream reader is reading.
    pub ready: watch::Receiver<bool>,
    /// Set when the channel is new: its generation, for the reader that
    /// must be started to feed it.
    pub fresh: Option<u64>,
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
    /// Subscribes to a shop's channel; creates it when the shop had none on
    /// this node (the caller then starts its reader).
    pub fn subscribe(&self, shop: &ShopId) -> Attached {
        let mut map = self.channels.lock().expect("hub lock");
        let mut fresh = None;
        let channel = map.entry(shop.clone()).or_insert_with(|| {
            let generation = self
                .generations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            fresh = Some(generation);
            Channel {
                tx: broadcast::channel(CHANNEL_CAPACITY).0,
                ready: watch::channel(false).0,
                generation,
            }
        });
        Attached {
            rx: channel.tx.subscribe(),
            ready: channel.ready.subscribe(),
            fresh,
        }
    }

    /// Marks the channel of `generation` as fed from its reader's start point on.
    pub fn mark_ready(&self, shop: &ShopId, generation: u64) {
        let map = self.channels.lock().expect("hub lock");
        if let Some(c) = map.get(shop).filter(|c| c.generation == generation) {
            c.ready.send_replace(true);
        }
    }

    /// Publishes events read from the shop's stream.
    pub fn publish_read(&self, shop: &ShopId, events: Vec<Published>) {
        let map = self.channels.lock().expect("hub lock");
        if let Some(channel) = map.get(shop) {
            for e in events {
                // An error only means nobody listens right now.
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

/// What a subscription hands out next.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// An event, in stream order.
    Event(Arc<Published>),
    /// The subscriber fell behind the live channel before it was handed any
    /// event, and `n` events were dropped. (Once it has been handed one, it
    /// catches up from the store instead.)
    Lagged(u64),
    /// The stream no longer keeps every event after `after` (they were
    /// trimmed, or `after` is not an id of this stream, say from before a
    /// single node restarted): what it keeps follows.
    Gap {
        /// The id the subscriber resumed from or was last handed, as sent.
        after: String,
    },
}

/// A shop's events for one subscriber: when resuming, first the stored
/// events after the resume point, then live ones, each exactly once.
///
/// The live receiver is attached (and its reader running) before the
/// first catch-up read, so every event appended after that read reaches the
/// receiver, and every event before it is read from the store. The seam may
/// therefore hold events both ways: a live event whose id is not after the
/// last one handed out is skipped (ids compared as [`EventId`]s, in stream
/// order). A subscriber that falls behind the channel catches up from the
/// store the same way, from the last event it was handed.
pub struct Subscription {
    shop: ShopId,
    store: Arc<dyn ShopStore>,
    rx: broadcast::Receiver<Arc<Published>>,
    /// The last event handed out (or the resume point), as an id and as
    /// sent; `None` until one was when not resuming.
    cursor: Option<(EventId, String)>,
    /// Events read from the store and not handed out yet.
    backlog: VecDeque<Published>,
    /// Still reading the store.
    catching_up: bool,
    /// The resume point, until it has been checked against the stream's bounds.
    unchecked: Option<(EventId, String)>,
    /// A gap to report before the backlog: the id it is after.
    gap: Option<String>,
}

impl Subscription {
    /// Live events from `rx`, after the stored ones following `after` (the
    /// id, and its text as the client sent it) if given.
    pub(crate) fn new(
        shop: ShopId,
        store: Arc<dyn ShopStore>,
        rx: broadcast::Receiver<Arc<Published>>,
        after: Option<(EventId, String)>,
    ) -> Self {
        Self {
            shop,
            store,
            rx,
            catching_up: after.is_some(),
            unchecked: after.clone(),
            cursor: after,
            backlog: VecDeque::new(),
            gap: None,
        }
    }

    /// Reads the next page of stored events, and checks the resume point the
    /// first time. Nothing changes until both reads have answered, so a
    /// caller may drop this future (say, on a keepalive timeout) and call
    /// again.
    pub(crate) async fn read_page(&mut self) -> Result<(), StoreError> {
        let Some((after, _)) = self.cursor.as_ref().filter(|_| self.catching_up) else {
            return Ok(());
        };
        let read = self
            .store
            .read_events(&self.shop, &after.to_string(), 0)
            .await?;
        // Checked after the first read, so that anything trimmed before that
        // read shows in the bounds.
        let bounds = match self.unchecked {
            Some(_) => Some(self.store.event_bounds(&self.shop).await?),
            None => None,
        };
        if let (Some((from, raw)), Some(bounds)) = (self.unchecked.take(), bounds) {
            if from > bounds.last {
                // Not an id of this stream: everything it keeps is new to
                // the client. (Nothing was read: no id is after `from`.)
                self.gap = Some(raw);
                self.cursor = Some((EventId::START, "0".into()));
                return Ok(());
            }
            if bounds.kept_from.is_some_and(|kept| from < kept) {
                self.gap = Some(raw);
            }
        }
        match read
            .last()
            .and_then(|(raw, _)| Some((EventId::parse(raw)?, raw)))
        {
            Some((last, raw)) => self.cursor = Some((last, raw.clone())),
            None => self.catching_up = false,
        }
        self.backlog.extend(
            read.into_iter()
                .filter_map(|(id, bytes)| decode(id, &bytes)),
        );
        Ok(())
    }

    /// The next delivery; `None` when the stream ends (the channel closed,
    /// or the store failed while catching up: the client resumes later).
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(after) = self.gap.take() {
                return Some(Delivery::Gap { after });
            }
            if let Some(p) = self.backlog.pop_front() {
                return Some(Delivery::Event(Arc::new(p)));
            }
            if self.catching_up {
                if let Err(e) = self.read_page().await {
                    warn!(shop_id = %self.shop, error = %e, "cannot read the event stream to catch up");
                    return None;
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(p) => {
                    let Some(id) = EventId::parse(&p.id) else {
                        return Some(Delivery::Event(p));
                    };
                    if self.cursor.as_ref().is_some_and(|(c, _)| id <= *c) {
                        continue;
                    }
                    self.cursor = Some((id, p.id.clone()));
                    return Some(Delivery::Event(p));
                }
                // Fallen behind the channel: read what was dropped from the
                // store instead, from the last event handed out.
                Err(RecvError::Lagged(_)) if self.cursor.is_some() => {
                    self.catching_up = true;
                    self.unchecked = self.cursor.clone();
                }
                Err(RecvError::Lagged(n)) => return Some(Delivery::Lagged(n)),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fenliu_store::{Acquired, Batch, MemoryStore};

    use super::*;

    fn shop() -> ShopId {
        ShopId::parse("s1").expect("shop id")
    }

    fn agent(id: &str) -> AgentId {
        AgentId::parse(id).expect("agent id")
    }

    #[test]
    fn a_stored_event_concerns_the_agents_the_core_names() {
        let moved = Event::Transferred {
            conversation_id: fenliu_core::ConversationId(3),
            from_agent_id: agent("a1"),
            agent_id: agent("a2"),
            reason: fenliu_core::Reason::Transfer,
        };

        let read = decode("1-0".into(), &encode(&moved, 5)).expect("decodes");

        assert_eq!(
            (read.name.as_str(), read.at),
            ("conversation.transferred", 5)
        );
        for a in ["a1", "a2", "a3"] {
            assert_eq!(read.concerns(a), moved.concerns(&agent(a)), "{a}");
        }
        assert_eq!(read.data["from_agent_id"], "a1");
    }

    #[test]
    fn an_event_stored_without_its_agents_concerns_none() {
        let old = br#"{"name":"agent.status","at":1,"data":{"agent_id":"a1","status":"online"}}"#;

        let read = decode("1-0".into(), old).expect("decodes");

        assert!(!read.concerns("a1"));
    }

    /// Appends `n` events to the store, numbered on from what it holds;
    /// answers them as the stream reader would publish them.
    async fn append(store: &MemoryStore, n: usize) -> Vec<Arc<Published>> {
        let Acquired::Mine(fence) = store.acquire(&shop(), "n1", 60_000).await.unwrap() else {
            panic!("lease held");
        };
        let from = store.last_event_id(&shop()).await.unwrap();
        let batch = Batch {
            events: (0..n)
                .map(|_| {
                    serde_json::to_vec(&serde_json::json!({"name": "e", "at": 0, "data": {}}))
                        .unwrap()
                })
                .collect(),
            ..Batch::default()
        };
        store.write(&shop(), &fence, batch, 0).await.unwrap();
        let read = store.read_events(&shop(), &from, 0).await.unwrap();
        read.into_iter()
            .map(|(id, bytes)| Arc::new(decode(id, &bytes).unwrap()))
            .collect()
    }

    /// What the subscription hands out until it has nothing for 200 ms.
    async fn drain(sub: &mut Subscription) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            out.push(match d {
                Delivery::Event(p) => p.id.clone(),
                Delivery::Lagged(n) => format!("lagged {n}"),
                Delivery::Gap { after } => format!("gap after {after}"),
            });
        }
        out
    }

    fn subscription(
        store: &MemoryStore,
        rx: broadcast::Receiver<Arc<Published>>,
        after: Option<&str>,
    ) -> Subscription {
        let after = after.map(|a| (EventId::parse(a).unwrap(), a.to_owned()));
        Subscription::new(shop(), Arc::new(store.clone()), rx, after)
    }

    #[tokio::test]
    async fn a_resume_hands_out_each_event_after_its_id_once_across_the_seam() {
        // Arrange: 1..=3 stored; the live channel then carries 3 and 4 (3 was
        // still on its way when the subscriber attached), and 5 arrives later.
        let store = MemoryStore::new();
        let (tx, rx) = broadcast::channel(16);
        let stored = append(&store, 3).await;
        let mut sub = subscription(&store, rx, Some("1"));
        tx.send(stored[2].clone()).unwrap();
        for p in append(&store, 1).await {
            tx.send(p).unwrap();
        }

        // Act
        let first = drain(&mut sub).await;
        for p in append(&store, 1).await {
            tx.send(p).unwrap();
        }
        let then = drain(&mut sub).await;

        // Assert
        assert_eq!(first, ["2", "3", "4"]);
        assert_eq!(then, ["5"]);
    }

    #[tokio::test]
    async fn a_resume_before_the_oldest_kept_event_reports_a_gap_first() {
        // Arrange: the store keeps 2 events; 1 and 2 were trimmed.
        let store = MemoryStore::with_stream_len(2);
        append(&store, 4).await;
        let (_tx, rx) = broadcast::channel(16);

        // Act
        let mut sub = subscription(&store, rx, Some("1"));

        // Assert
        assert_eq!(drain(&mut sub).await, ["gap after 1", "3", "4"]);
    }

    #[tokio::test]
    async fn a_resume_from_the_newest_id_or_from_a_kept_one_reports_no_gap() {
        // Arrange
        let store = MemoryStore::with_stream_len(2);
        append(&store, 4).await;
        let (_tx, rx) = broadcast::channel(16);
        let (_tx2, rx2) = broadcast::channel(16);

        // Act
        let mut newest = subscription(&store, rx, Some("4"));
        let mut kept = subscription(&store, rx2, Some("3"));

        // Assert
        assert!(drain(&mut newest).await.is_empty());
        assert_eq!(drain(&mut kept).await, ["4"]);
    }

    #[tokio::test]
    async fn a_resume_from_an_id_the_stream_never_reached_replays_what_it_keeps() {
        // Arrange: say, an id from before a single node restarted.
        let store = MemoryStore::new();
        append(&store, 2).await;
        let (_tx, rx) = broadcast::channel(16);

        // Act
        let mut sub = subscription(&store, rx, Some("900"));

        // Assert
        assert_eq!(drain(&mut sub).await, ["gap after 900", "1", "2"]);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_the_channel_catches_up_from_the_store() {
        // Arrange: a channel of 2; the subscriber took event 1, then 2..=5
        // came while it did not read.
        let store = MemoryStore::new();
        let (tx, rx) = broadcast::channel(2);
        let mut sub = subscription(&store, rx, None);
        for p in append(&store, 1).await {
            tx.send(p).unwrap();
        }
        let first = drain(&mut sub).await;

        // Act
        for p in append(&store, 4).await {
            tx.send(p).unwrap();
        }
        let rest = drain(&mut sub).await;

        // Assert
        assert_eq!(first, ["1"]);
        assert_eq!(rest, ["2", "3", "4", "5"]);
    }
}
