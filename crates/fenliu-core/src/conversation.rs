//! Conversations (会话) and their reply clock (会话计时).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::explain::Explanation;
use crate::ids::{AgentId, ConversationId};
use crate::settings::Inquiry;
use crate::time::{Day, Millis};

/// Where the buyer started the chat (咨询入口).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// 商品详情页.
    ProductDetail,
    /// 订单详情页.
    OrderDetail,
    /// 消息私信.
    DirectMessage,
    /// 直播.
    Live,
    /// 其他.
    Other,
}

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
}

impl ConversationStatus {
    /// Queued or active: the buyer's one open conversation.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Active)
    }
}

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
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
}

impl Conversation {
    /// Whether its reply clock runs.
    pub fn unreplied(&self) -> bool {
        self.status == ConversationStatus::Active && self.clock.is_running()
    }
}
