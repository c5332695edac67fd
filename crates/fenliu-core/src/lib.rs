//! fenliu-core: the routing and conversation-lifecycle engine of fenliu (分流).
//!
//! Everything here is plain synchronous Rust: a [`Shop`] takes a
//! [`Command`] with the current time and a seeded random number generator,
//! and returns a [`Reply`] plus [`Effects`] (events to publish, records to
//! persist). Nothing reads a clock, touches the network or uses global
//! randomness, so every rule is testable to the millisecond and a run can be
//! replayed from its seed. (Ids are hashed under a key drawn once per process,
//! as `std`'s maps are; no decision depends on where a map puts an entry.)
//!
//! # Layout
//!
//! Data types, which know nothing of a shop:
//!
//! - [`ids`], [`agent`], [`settings`], [`hours`], [`inquiry`],
//!   [`conversation`], [`time`]: validated domain types, parsed once at the
//!   boundary.
//! - [`effects`]: commands in; replies, events and changed records out.
//! - [`daylog`]: the day's record of inputs and outcomes (the export).
//! - [`explain`]: how each decision was reached, agent by agent, and why.
//! - [`records`]: the stored form of a shop, one record per object.
//! - [`stats`]: daily figures and the ranking over them (section 4).
//! - [`index`]: the per-pool indexes that make a decision O(log n).
//! - `rule_index`: the rules filed by the values they name, for matching.
//! - `queue`: the queue's order, with positions in O(log n).
//! - `deadlines`: the timers and expiries, in a min-heap.
//! - `lazy`: a part of a shop allocated on first write (an idle shop
//!   leaves most of its parts empty).
//!
//! The shop, which uses them all:
//!
//! - [`shop`]: the state of one shop and the commands that change it, one
//!   file per concern (agents, pools, routing, placement, lifecycle,
//!   transfer, orders, recent contact, timers, figures, persistence, and the
//!   invariants of `Shop::check`); its module header lists them.
//! - [`query`]: what callers ask of a shop, as data, and the owned answers.
//!
//! No module uses one that uses it back (`.ci/core-module-cycles` checks).

pub mod agent;
pub mod conversation;
pub mod daylog;
mod deadlines;
pub mod effects;
pub mod error;
pub mod explain;
pub mod hours;
pub mod ids;
pub mod index;
pub mod inquiry;
mod lazy;
pub mod query;
mod queue;
pub mod records;
mod rule_index;
pub mod settings;
pub mod shop;
pub mod stats;
pub mod time;

pub use agent::{Agent, AgentStatus, MaxLoad, Saturation, Weight};
pub use conversation::{Conversation, ConversationStatus, EndReason, Offer};
pub use effects::{Command, DeclineCause, Effects, Event, Party, Reply, StatusCause};
pub use error::{CoreError, CoreResult, InvalidInput};
pub use explain::{Explanation, Reason, Verdict};
pub use ids::{AgentId, BuyerId, ConversationId, GroupId, ShopId, Tag};
pub use inquiry::{Entry, Inquiry};
pub use records::{Changed, OrderRecord, Record, RecordKey, RecordRef};
pub use settings::{RoutingSettings, Strategy};
pub use shop::Shop;
pub use stats::{Metric, Ranking, SortOrder, Viewer};
pub use time::{Millis, TzOffset};
