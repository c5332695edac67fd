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
//! - [`contract`]: the contract test suite every implementation must pass.

pub mod codec;
pub mod contract;
pub mod memory;

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};
use thiserror::Error;

pub use memory::MemoryStore;

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

/// The records one command changed, written together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Records to write.
    pub puts: Vec<Put>,
    /// Records to delete, by name.
    pub deletes: Vec<String>,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }
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
}
