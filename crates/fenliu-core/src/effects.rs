//! What goes in and out of a shop: the commands that change it, the reply
//! of a successful command, and its effects (events to publish, records to
//! persist).

use serde::Serialize;

use crate::agent::{AgentStatus, MaxLoad, Weight};
use crate::conversation::EndReason;
pub use crate::conversation::Party;
use crate::daylog::Fact;
use crate::explain::Reason;
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, Tag};
use crate::inquiry::Inquiry;
use crate::records::{Changed, OrderRecord};
use crate::settings::RoutingSettings;

/// Everything that can change a shop.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Creates or updates an agent; `None` fields are left as they are.
    UpsertAgent {
        /// The agent.
        agent: AgentId,
        /// Name shown to admins.
        display_name: Option<String>,
        /// Weight.
        weight: Option<Weight>,
        /// Replaces its group memberships.
        groups: Option<Vec<GroupId>>,
    },
    /// Deletes an agent; its active conversations are re-routed.
    DeleteAgent(AgentId),
    /// Sets an agent's status.
    SetStatus(AgentId, AgentStatus),
    /// Sets an agent's max load.
    SetMaxLoad(AgentId, MaxLoad),
    /// The node saw no sign of life from an agent for the shop's presence
    /// timeout: an online or busy agent goes offline (its active
    /// conversations stay its own); nothing changes when presence is off or
    /// the agent is offline already.
    PresenceLapsed(AgentId),
    /// Replaces the members of a group (creating it).
    PutGroup(GroupId, Vec<AgentId>),
    /// Replaces the routing settings.
    SetRouting(Box<RoutingSettings>),
    /// A buyer asks for a human.
    Inquire(Inquiry),
    /// A message in a conversation.
    Message(ConversationId, Party),
    /// Moves an active conversation to another agent.
    Transfer(ConversationId, AgentId),
    /// Moves an active conversation to an agent of a group.
    TransferToGroup(ConversationId, GroupId),
    /// Ends an active conversation.
    End(ConversationId, EndReason),
    /// A queued conversation leaves the queue.
    Cancel(ConversationId),
    /// The agent invites a rating.
    InviteRating(ConversationId),
    /// The buyer rates.
    Rate(ConversationId, u8),
    /// An agent opens a conversation with a buyer who ordered recently.
    OpenProactive(AgentId, BuyerId),
    /// An order was placed.
    Order(Tag, BuyerId),
    /// The agent accepts the conversation offered to them.
    Accept(ConversationId),
    /// The agent rejects the conversation offered to them.
    Reject(ConversationId),
}

impl Command {
    /// A short name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpsertAgent { .. } => "upsert_agent",
            Self::DeleteAgent(_) => "delete_agent",
            Self::SetStatus(..) => "set_status",
            Self::SetMaxLoad(..) => "set_max_load",
            Self::PresenceLapsed(_) => "presence_lapsed",
            Self::PutGroup(..) => "put_group",
            Self::SetRouting(_) => "set_routing",
            Self::Inquire(_) => "inquire",
            Self::Message(..) => "message",
            Self::Transfer(..) => "transfer",
            Self::TransferToGroup(..) => "transfer_to_group",
            Self::End(..) => "end",
            Self::Cancel(_) => "cancel",
            Self::InviteRating(_) => "invite_rating",
            Self::Rate(..) => "rate",
            Self::OpenProactive(..) => "open_proactive",
            Self::Order(..) => "order",
            Self::Accept(_) => "accept",
            Self::Reject(_) => "reject",
        }
    }
}

/// What a successful command answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing beyond success.
    Done,
    /// A conversation; `created` when the command made it, and the reason of
    /// the answer (`existing` for a repeated inquiry).
    Conversation {
        /// The conversation.
        id: ConversationId,
        /// Whether this command created it.
        created: bool,
        /// Why it is where it is.
        reason: Reason,
    },
    /// An order record.
    Order(OrderRecord),
}

/// Something that happened, to publish.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    /// A conversation was assigned to an agent.
    Assigned {
        /// Conversation.
        conversation_id: ConversationId,
        /// Buyer.
        buyer_id: BuyerId,
        /// Agent.
        agent_id: AgentId,
        /// Why.
        reason: Reason,
        /// Given to an offline-routing agent.
        offline_delivery: bool,
    },
    /// A conversation was queued.
    Queued {
        /// Conversation.
        conversation_id: ConversationId,
        /// Buyer.
        buyer_id: BuyerId,
        /// Position when queued.
        position: u32,
    },
    /// A conversation moved between agents.
    Transferred {
        /// Conversation.
        conversation_id: ConversationId,
        /// From.
        from_agent_id: AgentId,
        /// To; also `agent_id` for filtering.
        agent_id: AgentId,
        /// `transfer`, or `reassigned` when its agent did not reply in time.
        reason: Reason,
    },
    /// A conversation was offered to an agent.
    Offered {
        /// Conversation.
        conversation_id: ConversationId,
        /// Buyer.
        buyer_id: BuyerId,
        /// The agent it is offered to.
        agent_id: AgentId,
        /// Why it went to them.
        reason: Reason,
        /// Seconds from the event until the offer lapses.
        timeout_secs: u32,
    },
    /// An agent declined an offer, or let it lapse.
    OfferDeclined {
        /// Conversation.
        conversation_id: ConversationId,
        /// The agent it was offered to.
        agent_id: AgentId,
        /// Why.
        cause: DeclineCause,
    },
    /// A conversation ended.
    Ended {
        /// Conversation.
        conversation_id: ConversationId,
        /// Its agent.
        agent_id: Option<AgentId>,
        /// Why.
        end_reason: EndReason,
    },
    /// An active conversation went back to the queue (its agent was deleted).
    Requeued {
        /// Conversation.
        conversation_id: ConversationId,
        /// Buyer.
        buyer_id: BuyerId,
        /// The agent it was taken from.
        from_agent_id: AgentId,
    },
    /// A queued conversation was cancelled.
    Cancelled {
        /// Conversation.
        conversation_id: ConversationId,
        /// Buyer.
        buyer_id: BuyerId,
    },
    /// An agent's status changed.
    AgentStatus {
        /// Agent.
        agent_id: AgentId,
        /// New status.
        status: AgentStatus,
        /// Why, when fenliu changed it itself (absent: the agent or a
        /// service set it).
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<StatusCause>,
    },
}

/// Why fenliu changed an agent's status by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCause {
    /// No sign of life for the presence timeout.
    Presence,
    /// Missed `timers.auto_busy_after_misses` conversations in a row.
    Missed,
}

/// Why an offer was declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCause {
    /// The agent rejected it.
    Rejected,
    /// The offer timed out.
    Timeout,
    /// The agent went offline or was deleted with the offer pending (an
    /// extension of the spec's two causes).
    Offline,
}

impl Event {
    /// The event name, as in Server-Sent Events.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Assigned { .. } => "conversation.assigned",
            Self::Queued { .. } => "conversation.queued",
            Self::Transferred { .. } => "conversation.transferred",
            Self::Offered { .. } => "conversation.offered",
            Self::OfferDeclined { .. } => "conversation.offer_declined",
            Self::Ended { .. } => "conversation.ended",
            Self::Requeued { .. } => "conversation.requeued",
            Self::Cancelled { .. } => "conversation.cancelled",
            Self::AgentStatus { .. } => "agent.status",
        }
    }

    /// Whether an agent should see this event among its own.
    pub fn concerns(&self, agent: &AgentId) -> bool {
        self.agents().any(|a| a == agent)
    }

    /// The agents who see this event among their own: the one it went to,
    /// and for a transfer or a re-queue the one it left.
    pub fn agents(&self) -> impl Iterator<Item = &AgentId> {
        let (first, second) = match self {
            Self::Assigned { agent_id, .. }
            | Self::AgentStatus { agent_id, .. }
            | Self::Offered { agent_id, .. }
            | Self::OfferDeclined { agent_id, .. } => (Some(agent_id), None),
            Self::Transferred {
                from_agent_id,
                agent_id,
                ..
            } => (Some(from_agent_id), Some(agent_id)),
            Self::Ended { agent_id, .. } => (agent_id.as_ref(), None),
            Self::Requeued { from_agent_id, .. } => (Some(from_agent_id), None),
            Self::Queued { .. } | Self::Cancelled { .. } => (None, None),
        };
        first.into_iter().chain(second)
    }
}

/// What a command did besides its reply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    /// Events to publish, in order.
    pub events: Vec<Event>,
    /// Records whose stored value changed (present: write it; absent: delete it).
    pub changed: Changed,
    /// The day's log of this step, when the shop keeps one.
    pub facts: Vec<Fact>,
}

impl Effects {
    /// Nothing happened.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.changed.is_empty() && self.facts.is_empty()
    }
}
