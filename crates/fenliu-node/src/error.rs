//! Errors of the node: the core's refusals plus what the machinery can add.

use fenliu_core::CoreError;
use fenliu_store::StoreError;
use thiserror::Error;

/// Why a request to a shop failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The core refused the command; nothing changed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The store could not be read or written; nothing was acknowledged.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The shop actor is gone or moving; the request may be retried.
    #[error("shop is not available on this node right now")]
    Unavailable,
    /// Another node owns the shop now.
    #[error("shop is served by node {0}; retry")]
    Elsewhere(String),
    /// The node is draining and takes no new shops.
    #[error("node is draining")]
    Draining,
    /// A bug: the core panicked. The shop is reloaded from the store.
    #[error("internal error: {0}")]
    Internal(String),
}
