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
//! shops with pending timers, and the per-shop event stream.

pub mod codec;
pub mod contract;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};
use thiserror::Error;

pub use memory::MemoryStore;
pub use redis::RedisStore;

/// Why the store could not do what was asked.
#[derive(Debug, Error)]
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

/// The records one command changed, written together or not at all, with
/// the events it published (appended to the shop's stream in the same step).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Records to write.
    pub puts: Vec<Put>,
    /// Records to delete, by name.
    pub deletes: Vec<String>,
    /// Encoded events to append to the shop's stream.
    pub events: Vec<Vec<u8>>,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty() && self.events.is_empty()
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

    /// Shops whose wake-up time has come.
    async fn due_wakeups(&self, now: Millis, limit: usize) -> Result<Vec<ShopId>, StoreError>;

    /// The id of the shop's newest event (a start point for reading).
    async fn last_event_id(&self, shop: &ShopId) -> Result<String, StoreError>;

    /// Events of the shop after stream id `after` (`"$"`: only new ones),
    /// waiting up to `block_ms` for one.
    async fn read_events(
        &self,
        shop: &ShopId,
        after: &str,
        block_ms: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}
