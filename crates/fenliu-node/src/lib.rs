//! fenliu-node: one node of fenliu — actors around the pure core.
//!
//! A [`Node`] is the handle the HTTP layer talks to. Behind it, a
//! [`gateway::Gateway`] actor finds or starts the supervised
//! [`shop_actor::ShopActor`] of each shop. A shop actor owns one
//! `fenliu_core::Shop`: it feeds it commands and timer ticks, writes every
//! change to the store before it answers, and publishes the events.
//!
//! # Layout
//!
//! - [`node`]: the cheap-clone handle and its configuration.
//! - [`gateway`]: shop actor registry, start on demand, passivation.
//! - [`ownership`]: the shop leases this node holds and trusts.
//! - [`shop_actor`]: the shop actor and its messages.
//! - [`agent_actor`]: per-agent actors mirroring status and load for reads.
//! - [`events`]: per-shop broadcast of published events, and subscriptions
//!   that resume after a stored event.
//! - [`metrics`]: the Prometheus registry.
//! - [`clock`]: where `now` comes from.
//! - [`error`]: what can go wrong beyond the core's refusals.

pub mod agent_actor;
pub mod clock;
pub mod error;
pub mod events;
pub mod gateway;
pub mod metrics;
pub mod node;
pub mod ownership;
pub mod shop_actor;

pub use error::NodeError;
pub use node::{Node, NodeConfig, Route};
