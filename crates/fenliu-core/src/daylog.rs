//! A shop's day as it happened (spec §10): what came in and what was
//! decided, one [`Fact`] per line, the record that `GET /export` answers and
//! `fenliu sim --replay` decides again.
//!
//! A node asks its shops to keep the log (`Shop::keep_day_log`); the facts
//! of a command then travel in its [`crate::Effects`] and are stored in the
//! same fenced write as its records, so a fact exists if and only if its
//! change was stored. Three kinds of line:
//!
//! - [`What::Start`]: the shop as it stood before the first command of the
//!   day its node handled (agents, groups, settings, open conversations).
//!   A node that loads the shop mid-day writes another; a reader keeps the
//!   first.
//! - Inputs, one per command that succeeded: what the API or the node asked
//!   (an inquiry with its attributes, a message, a status change, an end).
//! - Outcomes, one per event: what the core decided (assigned, queued,
//!   ended by a timer), for comparing a replay with the record.
//!
//! This module holds the data types only; `shop/daylog.rs` writes them.

use serde::{Deserialize, Serialize};

use crate::agent::{AgentStatus, MaxLoad, Weight};
use crate::conversation::{ConversationStatus, EndReason, Party};
use crate::explain::Reason;
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, Tag};
use crate::inquiry::Inquiry;
use crate::settings::RoutingSettings;
use crate::time::{Day, Millis};

/// One line of the day's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// When it happened (milliseconds since the epoch).
    pub at: Millis,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// What a line records, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// The shop at the start of the log.
    Start(Box<Start>),

    // Inputs.
    /// An agent created or changed (`None`: left as it was).
    Agent {
        /// The agent.
        agent_id: AgentId,
        /// Weight.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<Weight>,
        /// Groups.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<GroupId>>,
    },
    /// An agent deleted.
    AgentDeleted {
        /// The agent.
        agent_id: AgentId,
    },
    /// An agent's status set by the agent or a service.
    Status {
        /// The agent.
        agent_id: AgentId,
        /// The new status.
        status: AgentStatus,
    },
    /// The node saw no sign of life from an agent for the presence timeout.
    PresenceLapsed {
        /// The agent.
        agent_id: AgentId,
    },
    /// An agent's max load set.
    MaxLoad {
        /// The agent.
        agent_id: AgentId,
        /// The new max load.
        max_load: MaxLoad,
    },
    /// A group's members replaced.
    Group {
        /// The group.
        group_id: GroupId,
        /// Its members.
        members: Vec<AgentId>,
    },
    /// The routing settings replaced.
    Routing {
        /// The new settings.
        routing: Box<RoutingSettings>,
    },
    /// A buyer asked for a human.
    Inquiry {
        /// The conversation it created, or the open one it answered with.
        conversation_id: ConversationId,
        /// Whether it created the conversation.
        created: bool,
        /// What the buyer asked with.
        inquiry: Inquiry,
    },
    /// A message.
    Message {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who wrote it.
        party: Party,
    },
    /// A transfer to an agent.
    Transfer {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent asked for.
        to_agent_id: AgentId,
    },
    /// A transfer to a group.
    TransferToGroup {
        /// The conversation.
        conversation_id: ConversationId,
        /// The group asked for.
        to_group_id: GroupId,
    },
    /// A person ended a conversation.
    End {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who ended it.
        end_reason: EndReason,
    },
    /// A queued buyer left the queue.
    Cancel {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The agent accepted an offer.
    Accept {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The agent rejected an offer.
    Reject {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The agent invited a rating.
    InviteRating {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The buyer rated.
    Rate {
        /// The conversation.
        conversation_id: ConversationId,
        /// Stars.
        stars: u8,
    },
    /// An agent opened a conversation with a buyer.
    OpenProactive {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent.
        agent_id: AgentId,
        /// The buyer.
        buyer_id: BuyerId,
    },
    /// An order was placed.
    Order {
        /// The order.
        order_id: Tag,
        /// The buyer.
        buyer_id: BuyerId,
    },

    // Outcomes.
    /// A conversation was assigned.
    Assigned {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent.
        agent_id: AgentId,
        /// Why.
        reason: Reason,
    },
    /// A conversation was queued.
    Queued {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// A conversation was offered.
    Offered {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent.
        agent_id: AgentId,
    },
    /// An offer was declined or lapsed.
    OfferDeclined {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent.
        agent_id: AgentId,
    },
    /// A conversation moved between agents.
    Transferred {
        /// The conversation.
        conversation_id: ConversationId,
        /// From.
        from_agent_id: AgentId,
        /// To.
        agent_id: AgentId,
    },
    /// An active conversation went back to the queue.
    Requeued {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// A conversation ended (by a person or a timer).
    Ended {
        /// The conversation.
        conversation_id: ConversationId,
        /// Why.
        end_reason: EndReason,
    },
    /// A queued conversation was cancelled.
    Cancelled {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// An agent's status changed (by anyone, fenliu included).
    AgentStatus {
        /// The agent.
        agent_id: AgentId,
        /// The new status.
        status: AgentStatus,
    },
}

/// The shop as it stood when its log of the day began.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The shop day (days since the epoch in the shop's zone).
    pub day: Day,
    /// The routing settings.
    pub routing: RoutingSettings,
    /// The agents.
    pub agents: Vec<StartAgent>,
    /// The groups and their members.
    pub groups: Vec<(GroupId, Vec<AgentId>)>,
    /// Conversations queued, offered or active, oldest first.
    pub conversations: Vec<StartConversation>,
}

/// An agent at the start of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartAgent {
    /// The agent.
    pub agent_id: AgentId,
    /// Status.
    pub status: AgentStatus,
    /// Max load.
    pub max_load: MaxLoad,
    /// Weight.
    pub weight: Weight,
    /// Groups.
    pub groups: Vec<GroupId>,
}

/// A conversation open at the start of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartConversation {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Where it is.
    pub status: ConversationStatus,
    /// Its agent, unless queued.
    pub agent_id: Option<AgentId>,
    /// When it was created.
    pub created_at: Millis,
    /// What the buyer asked with.
    pub inquiry: Inquiry,
}
