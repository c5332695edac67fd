//! The JSON shapes the API answers with.

use chrono::{DateTime, SecondsFormat};
use fenliu_core::conversation::ConversationStatus;
use fenliu_core::explain::Explanation;
use fenliu_core::{Agent, AgentId, Conversation, ConversationId, GroupId, Millis, Shop};
use serde::Serialize;
use serde_json::{json, Value};

/// RFC 3339 with milliseconds, in UTC.
pub fn rfc3339(at: Millis) -> String {
    DateTime::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An agent.
#[derive(Debug, Serialize)]
pub struct AgentView {
    agent_id: AgentId,
    display_name: Option<String>,
    status: fenliu_core::AgentStatus,
    load: u32,
    max_load: u32,
    saturation: f64,
    weight: u32,
    groups: Vec<GroupId>,
    assigned_today: u32,
    unreplied: u32,
}

impl AgentView {
    /// The view of `a` at `now`.
    pub fn new(shop: &Shop, a: &Agent, now: Millis) -> Self {
        Self::of(a, shop.today(now))
    }

    /// The view of `a` on shop day `today`.
    pub fn of(a: &Agent, today: fenliu_core::time::Day) -> Self {
        Self {
            agent_id: a.id.clone(),
            display_name: a.display_name.clone(),
            status: a.status,
            load: a.load,
            max_load: a.max_load.get(),
            saturation: a.saturation().ratio(),
            weight: a.weight.get(),
            groups: a.groups.iter().cloned().collect(),
            assigned_today: a.assigned_on(today),
            unreplied: a.unreplied,
        }
    }
}

/// The answer to an inquiry.
#[derive(Debug, Serialize)]
pub struct InquiryView {
    conversation_id: ConversationId,
    status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<AgentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u32>,
    reason: fenliu_core::Reason,
    offline_delivery: bool,
}

impl InquiryView {
    /// The view of conversation `id` answered with `reason`.
    pub fn new(shop: &Shop, id: ConversationId, reason: fenliu_core::Reason) -> Option<Self> {
        let c = shop.conversation(id)?;
        Some(Self {
            conversation_id: id,
            status: c.status,
            agent_id: c
                .agent
                .clone()
                .filter(|_| c.status == ConversationStatus::Active),
            position: shop.position(id),
            reason,
            offline_delivery: c.offline_delivery,
        })
    }
}

/// A conversation.
#[derive(Debug, Serialize)]
pub struct ConversationView {
    conversation_id: ConversationId,
    buyer_id: String,
    status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<AgentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u32>,
    entry: fenliu_core::Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_reason: Option<fenliu_core::EndReason>,
    unreplied: bool,
    reason: fenliu_core::Reason,
    offline_delivery: bool,
    proactive: bool,
    rating_invited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<u8>,
}

impl ConversationView {
    /// The view of `c`.
    pub fn new(shop: &Shop, c: &Conversation) -> Self {
        let q = &c.inquiry;
        let text = |t: &Option<fenliu_core::Tag>| t.as_ref().map(|t| t.as_str().to_owned());
        Self {
            conversation_id: c.id,
            buyer_id: q.buyer_id.as_str().to_owned(),
            status: c.status,
            agent_id: c.agent.clone(),
            position: shop.position(c.id),
            entry: q.entry,
            question: text(&q.question),
            order_state: text(&q.order_state),
            product_id: text(&q.product_id),
            intent: text(&q.intent),
            created_at: rfc3339(c.created_at),
            assigned_at: c.assigned_at.map(rfc3339),
            ended_at: c.ended_at.map(rfc3339),
            end_reason: c.end_reason,
            unreplied: c.unreplied(),
            reason: c.reason,
            offline_delivery: c.offline_delivery,
            proactive: c.proactive,
            rating_invited: c.rating_invited,
            rating: c.rating,
        }
    }
}

/// How a conversation was routed, for `/explain`.
pub fn explanation(id: ConversationId, e: &Explanation) -> Value {
    let mut v = serde_json::to_value(e).expect("explanations serialize");
    v["decided_at"] = json!(rfc3339(e.decided_at));
    v["conversation_id"] = json!(id);
    v
}
