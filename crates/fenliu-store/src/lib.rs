//! fenliu-store: where shop state lives between commands.
//!
//! A shop is stored as a set of named records (see `fenliu_core::records`).
//! A command's effects become one [`Batch`] of puts and deletes, written in
//! one atomic step by [`ShopStore::write`] — one state change, one write.
//!
//! # Layout
//!
//! - [`codec`]: records to bytes (bincode 2 behind a version byte) and back.
//! - [`memory`]: the embedded in-memory store, the single-node default.
//! - [`redis`]: the shared Redis store of cluster mode.
//! - [`contract`]: the contract test suite every implementation must pass.
//!
//! Besides records, the trait carries what several nodes must agree on:
//! shop leases with fencing epochs, the node registry, wake-up times of
//! shops with pending timers, and the per-shop event stream (whose ids are
//! [`EventId`]s), and lists appended in the same write (the day's log).

pub mod codec;
pub mod contract;
pub mod memory;
pub mod redis;

use std::fmt;

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};
use thiserror::Error;

pub use memory::MemoryStore;
pub use redis::RedisStore;

/// Why the store could not do what was asked.
#[derive(Clone, Debug, Error)]
pub enum StoreError {
    /// The store cannot be reached or answered with an error; try again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The write was fenced off: another node owns the shop now.
    #[error("lease lost: {0}")]
    Fenced(String),
    /// A stored value could not be decoded.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

/// One record to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Put {
    /// The record's name (`RecordKey::name`).
    pub key: String,
    /// The encoded record.
    pub value: Vec<u8>,
    /// When the store may drop it by itself (milliseconds since the epoch).
    pub expires_at: Option<Millis>,
}

/// Items to add at the end of one of a shop's lists (the day's log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Append {
    /// The list's name, such as `log:2026-12-01`.
    pub list: String,
    /// The items, in order.
    pub items: Vec<Vec<u8>>,
    /// When the store may drop the whole list (milliseconds since the epoch).
    pub expires_at: Millis,
}

/// The records one command changed, written together or not at all, with
/// the events it published (appended to the shop's stream in the same step)
/// and the lines of its day's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Records to write.
    pub puts: Vec<Put>,
    /// Records to delete, by name.
    pub deletes: Vec<String>,
    /// Encoded events to append to the shop's stream.
    pub events: Vec<Vec<u8>>,
    /// Items to append to lists, at most one entry per list.
    pub appends: Vec<Append>,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty()
            && self.deletes.is_empty()
            && self.events.is_empty()
            && self.appends.is_empty()
    }

    /// Adds `items` at the end of `list`, after what the batch appends to it
    /// already (the later expiry wins).
    pub fn append(&mut self, list: String, items: Vec<Vec<u8>>, expires_at: Millis) {
        if !items.is_empty() {
            Append {
                list,
                items,
                expires_at,
            }
            .merge_into(&mut self.appends);
        }
    }
}

impl Append {
    /// Adds this to `appends`, after what they append to the same list
    /// already (the later expiry wins): one entry per list.
    pub fn merge_into(self, appends: &mut Vec<Append>) {
        match appends.iter_mut().find(|a| a.list == self.list) {
            Some(a) => {
                a.items.extend(self.items);
                a.expires_at = a.expires_at.max(self.expires_at);
            }
            None => appends.push(self),
        }
    }
}

/// The outcome of trying to take a shop's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The caller holds it now, under a new, higher epoch.
    Mine(Fence),
    /// Another node holds it.
    HeldBy(Fence),
}

/// The right to write a shop: the fencing epoch of the lease that the
/// writer holds. The in-memory store has a single writer and ignores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The node holding the lease.
    pub node_id: String,
    /// The lease's epoch; it only grows.
    pub epoch: u64,
}

/// A position in a shop's event stream, ordered as the stream orders its
/// entries.
///
/// The in-memory store numbers a shop's events `1`, `2`, …; Redis names them
/// `<milliseconds>-<sequence>`. Both forms parse (`n` is `n-0`, as Redis reads
/// it too), and ids compare by their numbers, never as strings (`"10"` comes
/// after `"9"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    ms: u64,
    seq: u64,
}

impl EventId {
    /// Before every event: reading after it reads the whole stream.
    pub const START: EventId = EventId { ms: 0, seq: 0 };

    /// Parses `<n>` or `<n>-<m>`: decimal digits only, each part within 64 bits.
    pub fn parse(raw: &str) -> Option<EventId> {
        fn number(part: &str) -> Option<u64> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        }
        let (ms, seq) = match raw.split_once('-') {
            Some((ms, seq)) => (number(ms)?, number(seq)?),
            None => (number(raw)?, 0),
        };
        Some(EventId { ms, seq })
    }
}

/// `<ms>-<seq>`, which both stores read back as the same position.
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Both ends of a shop's event stream, for a reader resuming at some id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamBounds {
    /// The newest id ever appended ([`EventId::START`] when none was).
    pub last: EventId,
    /// Once the stream has dropped old events to stay within its length:
    /// the oldest id it still keeps. A reader resuming before it may have
    /// missed events. (Redis before 7.0 does not count what it appended;
    /// there this is set once the stream has reached its length.)
    pub kept_from: Option<EventId>,
}

/// Storage of shops.
#[async_trait]
pub trait ShopStore: Send + Sync + 'static {
    /// Every live record of a shop, encoded; empty for a shop never written.
    async fn load(&self, shop: &ShopId, now: Millis) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Writes a batch atomically, if `fence` still holds the shop.
    async fn write(
        &self,
        shop: &ShopId,
        fence: &Fence,
        batch: Batch,
        now: Millis,
    ) -> Result<(), StoreError>;

    /// The items of one of a shop's lists, oldest first (empty when there is
    /// no such list, or it expired).
    async fn read_list(
        &self,
        shop: &ShopId,
        list: &str,
        now: Millis,
    ) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A short name for logs and metrics.
    fn kind(&self) -> &'static str;

    /// Whether several nodes share this store (events then travel through
    /// the store's stream rather than in process).
    fn is_shared(&self) -> bool;

    /// Takes the shop's lease for `ttl_ms` unless another node holds it. A
    /// node that already holds it (say, restarted under the same id) gets a
    /// new epoch: whatever it held before is fenced off.
    async fn acquire(
        &self,
        shop: &ShopId,
        node_id: &str,
        ttl_ms: u64,
    ) -> Result<Acquired, StoreError>;

    /// Extends a held lease; false when it was lost.
    async fn renew(&self, shop: &ShopId, fence: &Fence, ttl_ms: u64) -> Result<bool, StoreError>;

    /// Gives a held lease up.
    async fn release(&self, shop: &ShopId, fence: &Fence) -> Result<(), StoreError>;

    /// Who holds the lease now, if anybody.
    async fn owner(&self, shop: &ShopId) -> Result<Option<Fence>, StoreError>;

    /// The highest epoch ever handed out for the shop.
    async fn epoch(&self, shop: &ShopId) -> Result<u64, StoreError>;

    /// Announces (or keeps announcing) a node and how to reach it.
    async fn register_node(&self, node_id: &str, url: &str, ttl_ms: u64) -> Result<(), StoreError>;

    /// How to reach a live node.
    async fn node_url(&self, node_id: &str) -> Result<Option<String>, StoreError>;

    /// Records when the shop must next be woken for a timer (`None`: never).
    async fn set_wakeup(&self, shop: &ShopId, at: Option<Millis>) -> Result<(), StoreError>;

    /// Shops whose wake-up time has come, earliest first: `limit` of them,
    /// after the first `skip` (so that a scanner can page past shops it
    /// cannot wake).
    async fn due_wakeups(
        &self,
        now: Millis,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ShopId>, StoreError>;

    /// The id of the shop's newest event (a start point for reading).
    async fn last_event_id(&self, shop: &ShopId) -> Result<String, StoreError>;

    /// Events of the shop after stream id `after` (`"$"`: only new ones),
    /// oldest first, waiting up to `block_ms` for one (`0`: answer at once).
    /// One read may return only the oldest few hundred of them.
    async fn read_events(
        &self,
        shop: &ShopId,
        after: &str,
        block_ms: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// The newest id of the shop's stream and, once it trimmed some, the oldest kept.
    async fn event_bounds(&self, shop: &ShopId) -> Result<StreamBounds, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::EventId;

    #[test]
    fn event_ids_of_both_stores_parse_and_compare_as_the_stream_orders_them() {
        let id = |raw| EventId::parse(raw).expect(raw);
        assert!(id("9") < id("10"));
        assert!(id("1700000000000-9") < id("1700000000000-10"));
        assert!(id("1700000000000-10") < id("1700000000001-0"));
        assert_eq!(id("5"), id("5-0"));
        assert_eq!(id("0"), EventId::START);
        assert_eq!(id("1700000000000-3").to_string(), "1700000000000-3");
        assert_eq!(EventId::parse(&id("42").to_string()), Some(id("42")));
    }

    #[test]
    fn malformed_event_ids_do_not_parse() {
        for raw in [
            "",
            "-",
            "a",
            "1-",
            "-1",
            "1-2-3",
            "+5",
            " 5",
            "5 ",
            "0x10",
            "1.5",
            "18446744073709551616",
            "1-18446744073709551616",
            "$",
        ] {
            assert_eq!(EventId::parse(raw), None, "{raw:?}");
        }
    }
}
