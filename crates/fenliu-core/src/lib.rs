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
//! - [`ids`], [`agent`], [`settings`], [`conversation`], [`time`]: validated
//!   domain types, parsed once at the boundary.
//! - [`shop`]: the state of one shop and the commands that change it.
//! - `routing`: the decision of section 2 of the spec, step by step.
//! - [`index`]: the per-pool indexes that make a decision O(log n).
//! - [`explain`]: how each decision was reached, agent by agent.
//! - `rule_index`: the rules filed by the values they name, for matching.
//! - `queue`: the queue's order, with positions in O(log n).
//! - `deadlines`: the timers and expiries, in a min-heap.
//! - [`stats`]: daily figures and the ranking (section 4).
//! - [`records`]: the stored form of a shop and its rebuild.

pub mod agent;
pub mod conversation;
mod deadlines;
pub mod error;
pub mod explain;
pub mod ids;
pub mod index;
mod queue;
pub mod records;
mod routing;
mod rule_index;
pub mod settings;
pub mod shop;
pub mod stats;
pub mod time;

pub use agent::{Agent, AgentStatus, MaxLoad, Saturation, Weight};
pub use conversation::{Conversation, ConversationStatus, EndReason, Entry, Reason};
pub use error::{CoreError, CoreResult, InvalidInput};
pub use explain::{Explanation, Verdict};
pub use ids::{AgentId, BuyerId, ConversationId, GroupId, ShopId, Tag};
pub use records::{Changed, Record, RecordKey};
pub use settings::{Inquiry, RoutingSettings, Strategy};
pub use shop::{Command, Effects, Event, OrderRecord, Party, Reply, Shop};
pub use stats::{Metric, Ranking, SortOrder, Viewer};
pub use time::{Millis, TzOffset};
