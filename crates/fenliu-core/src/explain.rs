//! Explanations: how a routing decision was reached, agent by agent.
//!
//! Recorded at decision time so that a merchant can ask, later, why a buyer
//! went where it went. Large target sets are summarised rather than listed so
//! that explaining never makes routing slower than the index it uses.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::agent::AgentStatus;
use crate::ids::AgentId;
use crate::inquiry::Priority;
use crate::settings::Strategy;
use crate::time::Millis;

mod listed;

pub use listed::Listed;

/// At most this many agents are listed one by one in an explanation; beyond it
/// the picked and tied agents are listed and the rest counted by verdict.
pub const EXPLAIN_LIST_LIMIT: usize = 64;

/// In a shop larger than [`EXPLAIN_LIST_LIMIT`], at most this many agents are
/// listed: the picked one and others it tied with. Listing more would make
/// every decision of a large shop pay for an explanation few ever read.
pub const EXPLAIN_TIE_LIMIT: usize = 8;

/// Why a conversation went where it went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The buyer already had this open conversation.
    Existing,
    /// The buyer's recent agent (最近联系客服优先).
    RecentContact,
    /// A rule matched.
    Rule,
    /// No rule matched; picked among every agent.
    Default,
    /// Nobody of the target set was online; picked among every online agent.
    Overflow,
    /// Nobody was online or busy; given to an offline-routing agent.
    Offline,
    /// Everybody was saturated in no-queue mode; assigned beyond max load.
    NoQueue,
    /// Waiting in the queue.
    Queued,
    /// Opened by an agent (主动发起会话).
    Proactive,
    /// Moved by a transfer.
    Transfer,
    /// Placed through an escalation step of its rule.
    Escalated,
    /// Waiting because the shop is closed (business hours).
    Closed,
    /// Moved because its agent did not reply in time (reply or reassign).
    Reassigned,
}

impl Reason {
    /// The reason as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Existing => "existing",
            Self::RecentContact => "recent_contact",
            Self::Rule => "rule",
            Self::Default => "default",
            Self::Overflow => "overflow",
            Self::Offline => "offline",
            Self::NoQueue => "no_queue",
            Self::Queued => "queued",
            Self::Proactive => "proactive",
            Self::Transfer => "transfer",
            Self::Escalated => "escalated",
            Self::Closed => "closed",
            Self::Reassigned => "reassigned",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the routing thought of one agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Chosen.
    Picked,
    /// Could have taken it but another agent was preferred (higher saturation,
    /// more assigned today, or lost the draw).
    Eligible,
    /// Not in the target set.
    NotInTarget,
    /// Status offline.
    Offline,
    /// Status busy.
    Busy,
    /// Online but at max load.
    Saturated,
    /// An offline-routing agent that was not the least loaded.
    MoreLoaded,
    /// Declined the conversation, let its offer lapse or missed it: no
    /// decision gives it to them again.
    Declined,
}

/// One agent as the routing saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Considered {
    /// The agent.
    pub agent_id: AgentId,
    /// Its status then.
    pub status: AgentStatus,
    /// Its load then.
    pub load: u32,
    /// Its max load then.
    pub max_load: u32,
    /// Conversations assigned to it that day (used by `even`).
    pub assigned_today: u32,
    /// Weight after the busy penalty (used by `weighted`).
    pub effective_weight: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Seconds in status online or busy that day (used by `fair`).
    #[serde(default)]
    pub online_secs_today: u32,
}

/// Agents of the target set that were not listed, by verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlisted {
    /// Offline agents.
    pub offline: u32,
    /// Busy agents.
    pub busy: u32,
    /// Online agents at max load.
    pub saturated: u32,
    /// Available agents that were not preferred.
    pub eligible: u32,
}

/// The outcome of the recent-contact step (最近联系客服优先).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecentContactCheck {
    /// The setting is off.
    Disabled,
    /// No mapping within the window.
    NoRecentAgent,
    /// The recent agent took it.
    Assigned(AgentId),
    /// The recent agent could not take it.
    Skipped {
        /// The recent agent.
        agent_id: AgentId,
        /// Why not.
        why: Verdict,
    },
    /// Not evaluated (proactive conversation, transfer, or an existing one).
    NotApplicable,
}

/// How one decision was reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// When it was decided.
    pub decided_at: Millis,
    /// The outcome's reason.
    pub reason: Reason,
    /// The strategy in force.
    pub strategy: Strategy,
    /// The recent-contact step.
    pub recent_contact: RecentContactCheck,
    /// The index of the rule that matched, if any.
    pub matched_rule: Option<usize>,
    /// Whether the target set overflowed to every online agent.
    pub overflowed: bool,
    /// Agents in the final target set.
    pub target_size: u32,
    /// The agents considered, packed (see [`Listed`]): kept with every
    /// conversation, they were a fifth of its memory as a `Vec<Considered>`.
    pub agents: Listed,
    /// Agents of the target set not listed in `agents`, by verdict.
    pub unlisted: Option<Unlisted>,
    /// The agent chosen, if any.
    pub picked: Option<AgentId>,
    /// The conversation's priority, and its priority for queue order after
    /// aging.
    #[serde(default)]
    pub priority: Option<QueuePriority>,
    /// How many escalation steps of its rule its wait had reached when it
    /// was decided (0: none).
    #[serde(default)]
    pub steps_reached: u8,
    /// With reason `escalated`: the step (1-based) whose agents or groups
    /// held the agent picked.
    #[serde(default)]
    pub escalated_by: Option<u8>,
}

/// A queued conversation's priority, as the queue ordered it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePriority {
    /// The conversation's own priority.
    pub base: Priority,
    /// With aging: what the queue ordered it by.
    pub effective: Priority,
}

impl Explanation {
    /// An explanation with nothing considered yet.
    pub fn new(decided_at: Millis, reason: Reason, strategy: Strategy) -> Self {
        Self {
            decided_at,
            reason,
            strategy,
            recent_contact: RecentContactCheck::NotApplicable,
            matched_rule: None,
            overflowed: false,
            target_size: 0,
            agents: Listed::default(),
            unlisted: None,
            picked: None,
            priority: None,
            steps_reached: 0,
            escalated_by: None,
        }
    }
}
