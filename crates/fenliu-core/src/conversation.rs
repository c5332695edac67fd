//! Conversations (会话) and their reply clock (会话计时).

use serde::{Deserialize, Serialize};

use crate::explain::{Explanation, Reason};
use crate::ids::{AgentId, ConversationId};
use crate::inquiry::{Inquiry, Priority};
use crate::time::{Day, Millis};

/// Where a conversation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting in the queue.
    Queued,
    /// Assigned to one agent.
    Active,
    /// Over.
    Ended,
    /// The buyer left the queue.
    Cancelled,
    /// Offered to one agent, who holds a slot for it until they accept or
    /// reject it or the offer lapses. (Last: formats 1 to 4 are bincode,
    /// which writes a variant by its index.)
    Offered,
}

impl ConversationStatus {
    /// Queued, offered or active: the buyer's one open conversation.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Offered | Self::Active)
    }
}

/// Why a conversation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Ended by its agent.
    Agent,
    /// Ended by an internal service.
    Service,
    /// The buyer was silent for `auto_end_secs` after the agent's reply.
    AutoEnd,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The buyer.
    Buyer,
    /// The agent.
    Agent,
}

/// The reply clock: runs from assignment (or a buyer message) to the agent's reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyClock {
    /// When the current run started; `None` when stopped.
    pub running_since: Option<Millis>,
    /// Whether it ever ran for the current agent.
    pub ever_ran: bool,
    /// Whether a run exceeded the reply target.
    pub late: bool,
}

impl ReplyClock {
    /// Whether the conversation is unreplied.
    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }
}

/// A pending offer (spec section 9): until when the agent may accept it,
/// and where the conversation waits if nobody takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// When it was offered.
    pub at: Millis,
    /// When it lapses.
    pub until: Millis,
    /// Its place in the queue (key, and since when it counts as waiting),
    /// kept for when nobody takes it: the place it first had.
    pub place: (i64, Millis),
    /// Whether the decision that made the offer was one of the queue (only
    /// available agents), not of a new inquiry: deciding it again after a
    /// decline is the same kind of decision.
    pub from_queue: bool,
}

/// A conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// What the buyer asked with.
    pub inquiry: Inquiry,
    /// Status.
    pub status: ConversationStatus,
    /// The agent it is (or was last) assigned to.
    pub agent: Option<AgentId>,
    /// Why it went there.
    pub reason: Reason,
    /// True when given to an offline-routing agent.
    pub offline_delivery: bool,
    /// Key in the queue while queued.
    pub queue_key: Option<i64>,
    /// Created.
    pub created_at: Millis,
    /// Last assigned (or transferred).
    pub assigned_at: Option<Millis>,
    /// The shop day of `assigned_at`, where the reception is counted.
    pub assigned_day: Option<Day>,
    /// Ended or cancelled.
    pub ended_at: Option<Millis>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// Reply clock of the current agent.
    pub clock: ReplyClock,
    /// The agent's last message.
    pub last_agent_reply_at: Option<Millis>,
    /// The buyer's last message.
    pub last_buyer_message_at: Option<Millis>,
    /// Whether the agent has invited a rating.
    pub rating_invited: bool,
    /// The buyer's stars.
    pub rating: Option<u8>,
    /// Opened by the agent.
    pub proactive: bool,
    /// How it was decided, last time.
    pub explanation: Explanation,
    /// Its priority: the inquiry's, or its rule's if higher.
    #[serde(default)]
    pub priority: Priority,
    /// While queued: since when it counts as waiting (for aging and
    /// escalation).
    #[serde(default)]
    pub queued_since: Option<Millis>,
    /// While offered: the offer. Boxed: few conversations are ever offered,
    /// and inline it would take a conversation from the 448-byte size class
    /// of the allocator to the 512-byte one.
    #[serde(default)]
    pub offer: Option<Box<Offer>>,
    /// Agents who declined it, let its offer lapse or missed it (reply or
    /// reassign): no decision gives it to them again.
    #[serde(default)]
    pub excluded: Vec<AgentId>,
    /// The current agent's first reply since it was given to them.
    #[serde(default)]
    pub first_reply_at: Option<Millis>,
}

impl Conversation {
    /// Whether its reply clock runs.
    pub fn unreplied(&self) -> bool {
        self.status == ConversationStatus::Active && self.clock.is_running()
    }

    /// Whether its current agent has replied since it was given to them. A
    /// record written before `first_reply_at` existed tells by the time of
    /// the agent's last message.
    pub fn replied_by_agent(&self) -> bool {
        self.first_reply_at.is_some()
            || self
                .last_agent_reply_at
                .zip(self.assigned_at)
                .is_some_and(|(reply, given)| reply > given)
    }
}
