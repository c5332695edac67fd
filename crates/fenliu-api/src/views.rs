//! The JSON shapes the API answers with, one type each: handlers serialize
//! exactly these, and the document describes exactly these.
//!
//! Every view is `deny_unknown_fields` so that its schema says
//! `additionalProperties: false`: the document lists every field the server
//! sends, and a field added here without a schema fails the conformance run.

use chrono::{DateTime, SecondsFormat};
use fenliu_core::conversation::ConversationStatus;
use fenliu_core::explain::{Considered, Explanation, RecentContactCheck, Unlisted};
use fenliu_core::inquiry::Priority;
use fenliu_core::query::{AgentToday, Summary, Waiting};
use fenliu_core::shop::service::ServiceFigures;
use fenliu_core::stats::RankRow;
use fenliu_core::{
    AgentId, AgentStatus, BuyerId, ConversationId, EndReason, Entry, GroupId, Metric, Millis,
    Reason, SortOrder, Tag, Verdict,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::schema;

/// RFC 3339 with milliseconds, in UTC.
pub fn rfc3339(at: Millis) -> String {
    DateTime::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An agent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Agent)]
pub struct AgentView {
    #[schema(value_type = schema::AgentId)]
    agent_id: AgentId,
    /// Or `null` when none was given.
    #[schema(value_type = Option<schema::DisplayName>, required)]
    display_name: Option<String>,
    #[schema(value_type = schema::AgentStatus)]
    status: AgentStatus,
    /// Active conversations.
    load: u32,
    #[schema(minimum = 1, maximum = 50)]
    max_load: u32,
    /// `load` ÷ `max_load`.
    #[schema(minimum = 0)]
    saturation: f64,
    #[schema(minimum = 1, maximum = 100)]
    weight: u32,
    #[schema(value_type = Vec<schema::GroupId>)]
    groups: Vec<GroupId>,
    /// Conversations assigned on the shop's current day.
    assigned_today: u32,
    /// Active conversations whose reply clock runs.
    unreplied: u32,
    /// Seconds in status `online` or `busy` since the shop's midnight
    /// (what `fair` divides by).
    online_secs_today: u64,
}

impl AgentView {
    /// The view of an agent as the shop answered it.
    pub fn of(answer: &AgentToday) -> Self {
        let (a, today) = (&answer.agent, answer.today);
        Self {
            online_secs_today: (answer.online_ms_today.max(0) / 1000) as u64,
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

/// Every agent asked for, by id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentList {
    /// The agents.
    pub agents: Vec<AgentView>,
}

/// An agent's active conversations, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentConversations {
    /// The agent.
    #[schema(value_type = schema::AgentId)]
    pub agent_id: AgentId,
    /// Its active conversations.
    pub conversations: Vec<ConversationView>,
}

/// The answer to an inquiry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InquiryAnswer)]
pub struct InquiryView {
    #[schema(value_type = schema::ConversationId)]
    conversation_id: ConversationId,
    #[schema(value_type = schema::ConversationStatus)]
    status: ConversationStatus,
    /// While active, or offered to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::AgentId)]
    agent_id: Option<AgentId>,
    /// While queued: 1 is the next to be served.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    position: Option<u32>,
    /// While offered to its agent: when the offer lapses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp, nullable = false)]
    offer_expires_at: Option<String>,
    /// While queued, when the shop can tell: how long it is expected to
    /// wait still (an estimate; see docs/routing.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    estimated_wait_secs: Option<u64>,
    /// Its priority (0–9); shown only when above 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 9)]
    priority: Option<u8>,
    /// While queued in a closed shop (business hours): its next opening.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp, nullable = false)]
    opens_at: Option<String>,
    #[schema(value_type = schema::Reason)]
    reason: Reason,
    offline_delivery: bool,
}

/// Whole seconds of an estimate in milliseconds, rounded up.
fn estimate_secs(ms: Option<Millis>) -> Option<u64> {
    ms.map(|ms| (ms.max(0) as u64).div_ceil(1000))
}

/// A priority as shown: absent when 0.
fn shown_priority(p: Priority) -> Option<u8> {
    (p.get() > 0).then_some(p.get())
}

impl InquiryView {
    /// The view of conversation `c` answered with `reason`.
    pub fn new(c: Summary, reason: Reason) -> Self {
        Self {
            conversation_id: c.id,
            status: c.status,
            agent_id: c.agent.filter(|_| {
                matches!(
                    c.status,
                    ConversationStatus::Active | ConversationStatus::Offered
                )
            }),
            position: c.position,
            offer_expires_at: c.offer_expires_at.map(rfc3339),
            estimated_wait_secs: estimate_secs(c.estimated_wait_ms),
            priority: shown_priority(c.priority),
            opens_at: c.opens_at.map(rfc3339),
            reason,
            offline_delivery: c.offline_delivery,
        }
    }
}

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Conversation)]
pub struct ConversationView {
    #[schema(value_type = schema::ConversationId)]
    conversation_id: ConversationId,
    #[schema(value_type = schema::BuyerId)]
    buyer_id: BuyerId,
    #[schema(value_type = schema::ConversationStatus)]
    status: ConversationStatus,
    /// The agent it is or was last with; absent while queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::AgentId)]
    agent_id: Option<AgentId>,
    /// While queued: 1 is the next to be served.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    position: Option<u32>,
    /// While queued, when the shop can tell: how long it is expected to
    /// wait still (an estimate).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    estimated_wait_secs: Option<u64>,
    /// Its priority (0–9); shown only when above 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 9)]
    priority: Option<u8>,
    /// While queued in a closed shop (business hours): its next opening.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp, nullable = false)]
    opens_at: Option<String>,
    /// While offered to its agent: when the offer lapses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp, nullable = false)]
    offer_expires_at: Option<String>,
    #[schema(value_type = schema::Entry)]
    entry: Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Tag)]
    question: Option<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Tag)]
    order_state: Option<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Tag)]
    product_id: Option<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Tag)]
    intent: Option<Tag>,
    #[schema(value_type = schema::Timestamp)]
    created_at: String,
    /// The last assignment or transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp)]
    assigned_at: Option<String>,
    /// Ended or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::Timestamp)]
    ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schema::EndReason)]
    end_reason: Option<EndReason>,
    /// Its reply clock runs.
    unreplied: bool,
    #[schema(value_type = schema::Reason)]
    reason: Reason,
    offline_delivery: bool,
    proactive: bool,
    rating_invited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 5)]
    rating: Option<u8>,
}

impl From<Summary> for ConversationView {
    fn from(c: Summary) -> Self {
        let q = c.inquiry;
        Self {
            conversation_id: c.id,
            buyer_id: q.buyer_id,
            status: c.status,
            agent_id: c.agent,
            position: c.position,
            estimated_wait_secs: estimate_secs(c.estimated_wait_ms),
            priority: shown_priority(c.priority),
            opens_at: c.opens_at.map(rfc3339),
            offer_expires_at: c.offer_expires_at.map(rfc3339),
            entry: q.entry,
            question: q.question,
            order_state: q.order_state,
            product_id: q.product_id,
            intent: q.intent,
            created_at: rfc3339(c.created_at),
            assigned_at: c.assigned_at.map(rfc3339),
            ended_at: c.ended_at.map(rfc3339),
            end_reason: c.end_reason,
            unreplied: c.unreplied,
            reason: c.reason,
            offline_delivery: c.offline_delivery,
            proactive: c.proactive,
            rating_invited: c.rating_invited,
            rating: c.rating,
        }
    }
}

/// A group and its members.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Group)]
pub struct GroupView {
    /// The group.
    #[schema(value_type = schema::GroupId)]
    pub group_id: GroupId,
    /// Its members.
    #[schema(value_type = Vec<schema::AgentId>)]
    pub agents: Vec<AgentId>,
}

/// Every group of the shop.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupList {
    /// The groups, by id.
    pub groups: Vec<GroupView>,
}

/// A page of the queue, or all of it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Queue)]
pub struct QueueView {
    /// The queue order in force.
    #[schema(value_type = schema::QueueOrder)]
    pub order: fenliu_core::settings::QueueOrder,
    /// Conversations queued in all.
    pub length: u64,
    /// The entries asked for, next to be served first.
    pub items: Vec<QueueItem>,
}

/// One queued conversation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueItem {
    /// The conversation.
    #[schema(value_type = schema::ConversationId)]
    pub conversation_id: ConversationId,
    /// Its buyer.
    #[schema(value_type = schema::BuyerId)]
    pub buyer_id: BuyerId,
    /// 1 is the next to be served.
    #[schema(minimum = 1)]
    pub position: u64,
    /// Whole seconds since it was created.
    pub waited_secs: u64,
    /// The priority it is served by now: its own, raised by aging (0–9).
    #[schema(minimum = 0, maximum = 9)]
    pub priority: u8,
    /// How long it is expected to wait still, when the shop can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    pub estimated_wait_secs: Option<u64>,
}

impl QueueItem {
    /// The view of a queued conversation.
    pub fn of(w: &Waiting) -> Self {
        QueueItem {
            conversation_id: w.id,
            buyer_id: w.buyer_id.clone(),
            position: w.position as u64,
            waited_secs: (w.waited_ms.max(0) / 1000) as u64,
            priority: w.priority.get(),
            estimated_wait_secs: estimate_secs(w.estimated_wait_ms),
        }
    }
}

/// An order and the agent it credits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrderAnswer)]
pub struct OrderView {
    /// The order.
    #[schema(value_type = schema::Tag)]
    pub order_id: Tag,
    /// The agent of the buyer's most recent conversation within the reply
    /// window, or `null`.
    #[schema(value_type = Option<schema::AgentId>, required)]
    pub credited_agent: Option<AgentId>,
}

/// The shop's figures of a day (`GET /stats`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Stats)]
pub struct StatsView {
    /// The shop day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    date: String,
    /// New conversations created by inquiries that day.
    inquiries: u32,
    /// Of those, given an agent (at once, from the queue, or offline).
    assigned: u32,
    /// Of those, ever queued.
    queued: u32,
    /// Of those, cancelled in the queue.
    cancelled: u32,
    /// Waits of the queued ones that were placed, or `null` when none was.
    #[schema(required)]
    wait_secs: Option<WaitView>,
    /// Share of the day's inquiries given an agent within
    /// `reply_target_secs` of arriving, or `null` with no inquiry.
    #[schema(required, minimum = 0, maximum = 1)]
    service_level: Option<f64>,
    /// On-time conversations ÷ conversations whose clock ran, or `null`.
    #[schema(required, minimum = 0, maximum = 1)]
    reply_rate_3m: Option<f64>,
    /// Satisfied ratings ÷ ratings, or `null`.
    #[schema(required, minimum = 0, maximum = 1)]
    satisfaction_rate: Option<f64>,
    /// Given to offline-routing agents.
    offline_deliveries: u32,
    /// Jain's index (Σx)² ÷ (n·Σx²) over the agents' conversations per hour
    /// online, n the agents online at some time that day: 1 is perfectly
    /// even, 1/n one agent took everything; `null` when nobody received one.
    #[schema(required, minimum = 0, maximum = 1)]
    fairness: Option<f64>,
    /// The n of `fairness`.
    agents_online: u32,
}

/// Percentiles of waits, in whole seconds (two significant digits; `max`
/// exact).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Waits)]
pub struct WaitView {
    p50: u32,
    p90: u32,
    p99: u32,
    max: u32,
}

impl From<ServiceFigures> for StatsView {
    fn from(f: ServiceFigures) -> Self {
        let ServiceFigures {
            day,
            inquiries,
            assigned,
            queued,
            cancelled,
            wait_secs,
            service_level,
            reply_rate_3m,
            satisfaction_rate,
            offline_deliveries,
            fairness,
            agents_online,
        } = f;
        Self {
            date: fenliu_core::time::date_string(day),
            inquiries,
            assigned,
            queued,
            cancelled,
            wait_secs: wait_secs.map(|w| WaitView {
                p50: w.p50,
                p90: w.p90,
                p99: w.p99,
                max: w.max,
            }),
            service_level,
            reply_rate_3m,
            satisfaction_rate,
            offline_deliveries,
            fairness,
            agents_online,
        }
    }
}

/// The ranking of the shop's day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Ranking)]
pub struct RankingView {
    /// The shop's day.
    #[schema(value_type = schema::Date)]
    pub date: String,
    #[schema(value_type = schema::Metric)]
    pub metric: Metric,
    #[schema(value_type = schema::SortOrder)]
    pub order: SortOrder,
    /// The mean of the metric over agents with a reception, or `null`.
    #[schema(required)]
    pub average: Option<f64>,
    /// The agents, best first in the asked order; unranked ones last.
    pub agents: Vec<RankRowView>,
}

/// One agent's line of the ranking.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RankRow)]
pub struct RankRowView {
    #[schema(value_type = schema::AgentId)]
    agent_id: AgentId,
    /// Distinct buyers received today.
    receptions: u32,
    /// Conversations received today.
    sessions: u32,
    /// On-time replies ÷ conversations whose clock ran, or `null`.
    #[schema(required, minimum = 0, maximum = 1)]
    reply_rate_3m: Option<f64>,
    /// Satisfied ratings ÷ ratings, or `null`.
    #[schema(required, minimum = 0, maximum = 1)]
    satisfaction_rate: Option<f64>,
    /// Conversations missed today: not replied to within
    /// `timers.reassign_after_secs`.
    missed: u32,
    /// Offers rejected or let lapse today.
    offers_declined: u32,
    /// Ties share a rank; `null` when unranked.
    #[schema(required, minimum = 1)]
    rank: Option<u32>,
    /// Yesterday's rank − today's; `null` if unranked yesterday.
    #[schema(required)]
    rank_change: Option<i64>,
}

impl From<RankRow> for RankRowView {
    fn from(row: RankRow) -> Self {
        let RankRow {
            agent_id,
            receptions,
            sessions,
            reply_rate_3m,
            satisfaction_rate,
            missed,
            offers_declined,
            rank,
            rank_change,
        } = row;
        Self {
            agent_id,
            receptions,
            sessions,
            reply_rate_3m,
            satisfaction_rate,
            missed,
            offers_declined,
            rank,
            rank_change,
        }
    }
}

/// What a heartbeat answers: how often the agent must show life.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The shop's presence timeout (`presence.timeout_secs`); absent when
    /// presence is not tracked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 10, maximum = 3600)]
    pub timeout_secs: Option<u32>,
}

/// The node serving a shop.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Owner)]
pub struct OwnerView {
    /// The node.
    pub node_id: String,
    /// The fencing epoch under which it writes.
    #[schema(minimum = 1)]
    pub epoch: u64,
}

/// How the last routing decision of a conversation was reached.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Explanation)]
pub struct ExplanationView {
    #[schema(value_type = schema::ConversationId)]
    conversation_id: ConversationId,
    #[schema(value_type = schema::Timestamp)]
    decided_at: String,
    #[schema(value_type = schema::Reason)]
    reason: Reason,
    #[schema(value_type = schema::Strategy)]
    strategy: fenliu_core::settings::Strategy,
    recent_contact: RecentContactView,
    /// The index of the rule that matched, or `null`.
    #[schema(required, minimum = 0)]
    matched_rule: Option<usize>,
    /// The target set overflowed to every online agent.
    overflowed: bool,
    /// Agents in the final target set.
    target_size: u32,
    /// Each agent as the decision saw it (in large shops, the picked one
    /// and a few ties).
    agents: Vec<ConsideredView>,
    /// Agents of the target set not listed, by verdict, or `null`.
    #[schema(required)]
    unlisted: Option<UnlistedView>,
    /// The agent chosen, or `null`.
    #[schema(value_type = Option<schema::AgentId>, required)]
    picked: Option<AgentId>,
    /// The conversation's priority and the priority the queue ordered it
    /// by after aging; shown only when the shop uses priorities.
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<PriorityView>,
    /// How many escalation steps of its rule its wait had reached; shown
    /// only when one had.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 5)]
    steps_reached: Option<u8>,
    /// With reason `escalated`: the step (1-based) whose agents or groups
    /// held the agent picked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 5)]
    escalated_by: Option<u8>,
}

/// A priority as the queue ordered a conversation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = QueuePriority)]
pub struct PriorityView {
    /// The conversation's own (the inquiry's, or its rule's if higher).
    #[schema(minimum = 0, maximum = 9)]
    base: u8,
    /// Raised by aging: what the queue ordered it by.
    #[schema(minimum = 0, maximum = 9)]
    effective: u8,
}

impl ExplanationView {
    /// The explanation of conversation `id`.
    pub fn new(id: ConversationId, e: &Explanation) -> Self {
        let Explanation {
            decided_at,
            reason,
            strategy,
            recent_contact,
            matched_rule,
            overflowed,
            target_size,
            agents,
            unlisted,
            picked,
            priority,
            steps_reached,
            escalated_by,
        } = e.clone();
        Self {
            conversation_id: id,
            decided_at: rfc3339(decided_at),
            reason,
            strategy,
            recent_contact: recent_contact.into(),
            matched_rule,
            overflowed,
            target_size,
            agents: agents.iter().map(Into::into).collect(),
            unlisted: unlisted.map(Into::into),
            picked,
            priority: priority.map(|p| PriorityView {
                base: p.base.get(),
                effective: p.effective.get(),
            }),
            steps_reached: (steps_reached > 0).then_some(steps_reached),
            escalated_by,
        }
    }
}

/// The outcome of the recent-contact step (最近联系客服优先).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RecentContactCheck)]
pub enum RecentContactView {
    /// The setting is off.
    Disabled,
    /// No mapping within the window.
    NoRecentAgent,
    /// The recent agent took it.
    #[schema(value_type = schema::AgentId)]
    Assigned(AgentId),
    /// The recent agent could not take it.
    Skipped {
        /// The recent agent.
        #[schema(value_type = schema::AgentId)]
        agent_id: AgentId,
        /// Why not.
        #[schema(value_type = schema::Verdict)]
        why: Verdict,
    },
    /// Not evaluated (proactive conversation, transfer, or an existing one).
    NotApplicable,
}

impl From<RecentContactCheck> for RecentContactView {
    fn from(c: RecentContactCheck) -> Self {
        match c {
            RecentContactCheck::Disabled => Self::Disabled,
            RecentContactCheck::NoRecentAgent => Self::NoRecentAgent,
            RecentContactCheck::Assigned(a) => Self::Assigned(a),
            RecentContactCheck::Skipped { agent_id, why } => Self::Skipped { agent_id, why },
            RecentContactCheck::NotApplicable => Self::NotApplicable,
        }
    }
}

/// One agent as the routing saw it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Considered)]
pub struct ConsideredView {
    #[schema(value_type = schema::AgentId)]
    agent_id: AgentId,
    #[schema(value_type = schema::AgentStatus)]
    status: AgentStatus,
    load: u32,
    max_load: u32,
    assigned_today: u32,
    /// The weight after the busy penalty.
    effective_weight: f64,
    /// Seconds online or busy that day (what `fair` divides by).
    online_secs_today: u32,
    #[schema(value_type = schema::Verdict)]
    verdict: Verdict,
}

impl From<Considered> for ConsideredView {
    fn from(c: Considered) -> Self {
        let Considered {
            agent_id,
            status,
            load,
            max_load,
            assigned_today,
            effective_weight,
            verdict,
            online_secs_today,
        } = c;
        Self {
            online_secs_today,
            agent_id,
            status,
            load,
            max_load,
            assigned_today,
            effective_weight,
            verdict,
        }
    }
}

/// Agents of the target set not listed, by verdict.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Unlisted)]
pub struct UnlistedView {
    offline: u32,
    busy: u32,
    saturated: u32,
    eligible: u32,
}

impl From<Unlisted> for UnlistedView {
    fn from(u: Unlisted) -> Self {
        let Unlisted {
            offline,
            busy,
            saturated,
            eligible,
        } = u;
        Self {
            offline,
            busy,
            saturated,
            eligible,
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// This node.
    pub node_id: String,
}
