//! What callers ask of a shop, as data, each answered with owned data.
//!
//! The shop's owner (the node's shop actor) receives a [`Query`], or a
//! [`Command`](crate::Command) with a [`Follow`] and a [`Guard`], and answers
//! what [`Query::ask`] or [`Follow::follow`] computes from the shop as it
//! stands: nothing in an answer borrows from the shop, so the answer leaves
//! the actor and is shown (as JSON, say) by whoever asked. How an answer is
//! shown and which error a refusal becomes are the asker's business.

use crate::agent::{Agent, AgentStatus};
use crate::conversation::{ConversationStatus, EndReason};
use crate::effects::Reply;
use crate::error::{CoreError, CoreResult};
use crate::explain::{Explanation, Reason};
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId};
use crate::inquiry::{Inquiry, Priority};
use crate::settings::{QueueOrder, RoutingSettings};
use crate::shop::Shop;
use crate::stats::{Metric, Ranking, SortOrder, Viewer};
use crate::time::{Day, Millis};

/// A question to a shop, answered from the shop at `now` (after its due
/// timers fired).
pub trait Query: Send + 'static {
    /// The answer, owned.
    type Answer: Send + 'static;

    /// Answers from `shop` at `now`.
    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer;
}

/// What the caller of a command learns besides its reply, computed from the
/// shop the command left. Every [`Query`] is one (asked after the command);
/// [`Replied`] is the conversation the reply names.
pub trait Follow: Send + 'static {
    /// The answer, owned.
    type Answer: Send + 'static;

    /// Answers from `shop` right after the command that replied `reply`.
    fn follow(&self, shop: &Shop, reply: &Reply, now: Millis) -> Self::Answer;
}

impl<Q: Query> Follow for Q {
    type Answer = Q::Answer;

    fn follow(&self, shop: &Shop, _reply: &Reply, now: Millis) -> Self::Answer {
        self.ask(shop, now)
    }
}

/// Nothing beyond the reply.
impl Query for () {
    type Answer = ();

    fn ask(&self, _: &Shop, _: Millis) {}
}

/// A command and what its caller learns.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided<A> {
    /// The command's reply.
    pub reply: Reply,
    /// What the [`Follow`] answered.
    pub answer: A,
}

/// A condition on the shop as it stands, checked in the same step as the
/// command it guards: refused, the command is not applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Guard {
    /// Anybody may run the command.
    #[default]
    Open,
    /// Only the agent the conversation is assigned to (or was last, once it
    /// ended). An absent conversation passes: the command answers it.
    Assigned {
        /// The conversation.
        conversation: ConversationId,
        /// The agent who must have it.
        agent: AgentId,
    },
}

/// A [`Guard`] refused the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAssigned;

impl Guard {
    /// Whether `shop` lets the guarded command run.
    pub fn check(&self, shop: &Shop) -> Result<(), NotAssigned> {
        match self {
            Self::Open => Ok(()),
            Self::Assigned {
                conversation,
                agent,
            } => match shop.conversation(*conversation) {
                Some(c) if c.agent.as_ref() != Some(agent) => Err(NotAssigned),
                _ => Ok(()),
            },
        }
    }
}

/// A query asked only if its guard lets it (an agent reads only the
/// conversations it has, say), in the same step.
#[derive(Clone, Debug)]
pub struct Guarded<Q>(pub Guard, pub Q);

impl<Q: Query> Query for Guarded<Q> {
    type Answer = Result<Q::Answer, NotAssigned>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        self.0.check(shop)?;
        Ok(self.1.ask(shop, now))
    }
}

/// A conversation as its readers see it: everything but how it was routed
/// (that is [`ExplanationOf`]), and its place in the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Its id.
    pub id: ConversationId,
    /// What the buyer asked with.
    pub inquiry: Inquiry,
    /// Status.
    pub status: ConversationStatus,
    /// The agent it is (or was last) assigned to.
    pub agent: Option<AgentId>,
    /// While queued: 1 is the next to be served.
    pub position: Option<u32>,
    /// While queued: how long it is expected to wait still, if the shop can
    /// tell (see `Shop::estimated_wait_ms`).
    pub estimated_wait_ms: Option<Millis>,
    /// Its priority (the inquiry's or its rule's).
    pub priority: Priority,
    /// While queued and the shop is closed: its next opening.
    pub opens_at: Option<Millis>,
    /// While offered: when the offer lapses.
    pub offer_expires_at: Option<Millis>,
    /// Why it went where it is.
    pub reason: Reason,
    /// Given to an offline-routing agent.
    pub offline_delivery: bool,
    /// Created.
    pub created_at: Millis,
    /// Last assigned (or transferred).
    pub assigned_at: Option<Millis>,
    /// Ended or cancelled.
    pub ended_at: Option<Millis>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// The current agent's reply clock runs.
    pub unreplied: bool,
    /// The agent invited a rating.
    pub rating_invited: bool,
    /// The buyer's stars.
    pub rating: Option<u8>,
    /// Opened by the agent.
    pub proactive: bool,
}

impl Summary {
    /// Conversation `id` of `shop` at `now`, if it exists.
    pub fn of(shop: &Shop, id: ConversationId, now: Millis) -> Option<Self> {
        let c = shop.conversation(id)?;
        let position = shop.position(id, now);
        Some(Self {
            id,
            inquiry: c.inquiry.clone(),
            status: c.status,
            agent: c.agent.clone(),
            position,
            estimated_wait_ms: position.and_then(|p| shop.estimated_wait_ms(p, now)),
            priority: c.priority,
            opens_at: position.and_then(|_| shop.settings().opens_at(now)),
            offer_expires_at: c.offer.as_ref().map(|o| o.until),
            // A queued conversation of a closed shop waits for the opening.
            reason: match position {
                Some(_) if !shop.settings().is_open(now) => Reason::Closed,
                _ => c.reason,
            },
            offline_delivery: c.offline_delivery,
            created_at: c.created_at,
            assigned_at: c.assigned_at,
            ended_at: c.ended_at,
            end_reason: c.end_reason,
            unreplied: c.unreplied(),
            rating_invited: c.rating_invited,
            rating: c.rating,
            proactive: c.proactive,
        })
    }
}

/// The conversation the command's reply names, if it names one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Replied;

impl Follow for Replied {
    type Answer = Option<Summary>;

    fn follow(&self, shop: &Shop, reply: &Reply, now: Millis) -> Self::Answer {
        match reply {
            Reply::Conversation { id, .. } => Summary::of(shop, *id, now),
            _ => None,
        }
    }
}

/// One conversation.
#[derive(Clone, Copy, Debug)]
pub struct ConversationById(pub ConversationId);

impl Query for ConversationById {
    type Answer = Option<Summary>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        Summary::of(shop, self.0, now)
    }
}

/// How a conversation was routed, last time.
#[derive(Clone, Copy, Debug)]
pub struct ExplanationOf(pub ConversationId);

impl Query for ExplanationOf {
    type Answer = Option<Explanation>;

    fn ask(&self, shop: &Shop, _now: Millis) -> Self::Answer {
        shop.conversation(self.0).map(|c| c.explanation.clone())
    }
}

/// Agents, with the shop day their daily figures are read on.
#[derive(Clone, Debug, PartialEq)]
pub struct Agents {
    /// The agents, by id.
    pub agents: Vec<AgentToday>,
}

/// One agent, with the shop day its daily figures are read on.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentToday {
    /// The agent.
    pub agent: Agent,
    /// The shop's current day.
    pub today: Day,
    /// Milliseconds in status online or busy today, as of the question.
    pub online_ms_today: Millis,
}

impl AgentToday {
    fn of(shop: &Shop, a: &Agent, now: Millis) -> Self {
        AgentToday {
            agent: a.clone(),
            today: shop.today(now),
            online_ms_today: shop.online_ms_today(a, now),
        }
    }
}

/// One agent.
#[derive(Clone, Debug)]
pub struct AgentById(pub AgentId);

impl Query for AgentById {
    type Answer = Option<AgentToday>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        shop.agent(&self.0).map(|a| AgentToday::of(shop, a, now))
    }
}

/// The agents with this status and in this group, by id, `limit` of them
/// from the `offset`-th on. An unknown group is not found.
#[derive(Clone, Debug, Default)]
pub struct AgentPage {
    /// Only agents with this status.
    pub status: Option<AgentStatus>,
    /// Only members of this group.
    pub group: Option<GroupId>,
    /// Agents to pass over.
    pub offset: usize,
    /// Agents to list at most.
    pub limit: usize,
}

impl Query for AgentPage {
    type Answer = CoreResult<Agents>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        let members = match &self.group {
            Some(g) => Some(
                shop.group(g)
                    .ok_or_else(|| CoreError::NotFound(format!("group {g} not found")))?,
            ),
            None => None,
        };
        let agents = shop
            .agents()
            .filter(|a| self.status.is_none_or(|s| a.status == s))
            .filter(|a| members.is_none_or(|m| m.contains(&a.id)))
            .skip(self.offset)
            .take(self.limit)
            .map(|a| AgentToday::of(shop, a, now))
            .collect();
        Ok(Agents { agents })
    }
}

/// An agent's active conversations, oldest first; `None` for an unknown
/// agent.
#[derive(Clone, Debug)]
pub struct ConversationsOf(pub AgentId);

impl Query for ConversationsOf {
    type Answer = Option<Vec<Summary>>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        shop.agent(&self.0)?;
        Some(
            shop.active_conversations_of(&self.0)
                .into_iter()
                .filter_map(|id| Summary::of(shop, id, now))
                .collect(),
        )
    }
}

/// Every group and its members, by id.
#[derive(Clone, Copy, Debug)]
pub struct Groups;

impl Query for Groups {
    type Answer = Vec<(GroupId, Vec<AgentId>)>;

    fn ask(&self, shop: &Shop, _now: Millis) -> Self::Answer {
        shop.groups()
            .iter()
            .map(|(g, members)| (g.clone(), members.iter().cloned().collect()))
            .collect()
    }
}

/// A group's members, by id (none for a group that does not exist).
#[derive(Clone, Debug)]
pub struct Members(pub GroupId);

impl Query for Members {
    type Answer = Vec<AgentId>;

    fn ask(&self, shop: &Shop, _now: Millis) -> Self::Answer {
        shop.group(&self.0)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The routing settings in force.
#[derive(Clone, Copy, Debug)]
pub struct Settings;

impl Query for Settings {
    type Answer = RoutingSettings;

    fn ask(&self, shop: &Shop, _now: Millis) -> Self::Answer {
        shop.settings().clone()
    }
}

/// `limit` queue entries from the `offset`-th on, the next to be served
/// first.
#[derive(Clone, Copy, Debug)]
pub struct QueuePage {
    /// Entries to pass over.
    pub offset: usize,
    /// Entries to list at most.
    pub limit: usize,
}

/// A page of the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The queue order in force.
    pub order: QueueOrder,
    /// Conversations queued in all.
    pub length: usize,
    /// The entries asked for.
    pub items: Vec<Waiting>,
}

/// One queued conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    /// The conversation.
    pub id: ConversationId,
    /// Its buyer.
    pub buyer_id: BuyerId,
    /// 1 is the next to be served.
    pub position: usize,
    /// Since it was created, in milliseconds (never negative).
    pub waited_ms: Millis,
    /// Its priority for queue order now (its own, raised by aging).
    pub priority: Priority,
    /// How long it is expected to wait still, if the shop can tell.
    pub estimated_wait_ms: Option<Millis>,
}

impl Query for QueuePage {
    type Answer = Page;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        let rate = shop.queue_rate(now);
        Page {
            order: shop.settings().queue.order,
            length: shop.queue_len(),
            items: shop
                .queue_page(self.offset, self.limit, now)
                .into_iter()
                .enumerate()
                .map(|(i, c)| Waiting {
                    id: c.id,
                    buyer_id: c.inquiry.buyer_id.clone(),
                    position: self.offset + i + 1,
                    waited_ms: (now - c.created_at).max(0),
                    priority: shop.queue_priority(c, now),
                    estimated_wait_ms: shop.wait_at_rate((self.offset + i + 1) as u32, rate, now),
                })
                .collect(),
        }
    }
}

/// The ranking of the shop's day, as `viewer` may see it.
#[derive(Clone, Debug)]
pub struct RankingOf {
    /// The figure ranked by.
    pub metric: Metric,
    /// Best first, ascending or descending.
    pub order: SortOrder,
    /// Only the members of this group (not found when it does not exist).
    pub group: Option<GroupId>,
    /// Who looks.
    pub viewer: Viewer,
}

impl Query for RankingOf {
    type Answer = CoreResult<Ranking>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        shop.ranking(
            self.metric,
            self.order,
            self.group.as_ref(),
            &self.viewer,
            now,
        )
    }
}

/// The shop's figures of a day (today when `None`): not found for a day
/// the shop no longer keeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServiceOf(pub Option<Day>);

impl Query for ServiceOf {
    type Answer = CoreResult<crate::shop::service::ServiceFigures>;

    fn ask(&self, shop: &Shop, now: Millis) -> Self::Answer {
        shop.service_figures(self.0, now)
    }
}
