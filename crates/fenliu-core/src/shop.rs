//! The state of one shop and the commands that change it.
//!
//! [`Shop::handle`] takes a [`Command`], `now` and a random number generator
//! and either refuses the command (changing nothing) or applies it, returning
//! a [`Reply`] and the [`Effects`]: events to publish and the records to
//! persist. [`Shop::tick`] fires the timers that are due. Reads are plain
//! methods on `&Shop`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::agent::{Agent, AgentStatus, MaxLoad, Weight};
use crate::conversation::{Conversation, ConversationStatus, EndReason, Entry, Reason, ReplyClock};
use crate::deadlines::Deadlines;
use crate::error::{CoreError, CoreResult, InvalidInput};
use crate::explain::{Considered, Explanation, Verdict, EXPLAIN_LIST_LIMIT};
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, IdMap, IdSet, ShopId, Tag};
use crate::index::{MemberState, Pool, Slot};
use crate::queue::QueueIndex;
use crate::records::{Changed, Meta, RecordKey};
use crate::routing::Memo;
use crate::rule_index::RuleIndex;
use crate::settings::{Inquiry, QueueOrder, RoutingSettings, Strategy, Target};
use crate::stats::AgentDay;
use crate::time::{Day, Millis};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The buyer.
    Buyer,
    /// The agent.
    Agent,
}

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
}

impl Command {
    /// A short name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpsertAgent { .. } => "upsert_agent",
            Self::DeleteAgent(_) => "delete_agent",
            Self::SetStatus(..) => "set_status",
            Self::SetMaxLoad(..) => "set_max_load",
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

/// An order and the agent it credits (提成归属).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order.
    pub order_id: Tag,
    /// The buyer.
    pub buyer_id: BuyerId,
    /// The credited agent.
    pub credited_agent: Option<AgentId>,
    /// When it was recorded.
    pub at: Millis,
}

/// The buyer's most recent agent (最近联系客服).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentContact {
    /// The agent.
    pub agent: AgentId,
    /// When the mapping lapses.
    pub expires_at: Millis,
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
    },
}

impl Event {
    /// The event name, as in Server-Sent Events.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Assigned { .. } => "conversation.assigned",
            Self::Queued { .. } => "conversation.queued",
            Self::Transferred { .. } => "conversation.transferred",
            Self::Ended { .. } => "conversation.ended",
            Self::Requeued { .. } => "conversation.requeued",
            Self::Cancelled { .. } => "conversation.cancelled",
            Self::AgentStatus { .. } => "agent.status",
        }
    }

    /// Whether an agent should see this event among its own.
    pub fn concerns(&self, agent: &AgentId) -> bool {
        match self {
            Self::Assigned { agent_id, .. } | Self::AgentStatus { agent_id, .. } => {
                agent_id == agent
            }
            Self::Transferred {
                from_agent_id,
                agent_id,
                ..
            } => from_agent_id == agent || agent_id == agent,
            Self::Ended { agent_id, .. } => agent_id.as_ref() == Some(agent),
            Self::Requeued { from_agent_id, .. } => from_agent_id == agent,
            Self::Queued { .. } | Self::Cancelled { .. } => false,
        }
    }
}

/// What a command did besides its reply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    /// Events to publish, in order.
    pub events: Vec<Event>,
    /// Records whose stored value changed (present: write it; absent: delete it).
    pub changed: Changed,
}

impl Effects {
    /// Nothing happened.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.changed.is_empty()
    }
}

/// A timer of a conversation; validated against the conversation when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The reply clock passes the reply target.
    Late(ConversationId),
    /// The buyer has been silent for `auto_end_secs` after the agent's reply.
    AutoEnd(ConversationId),
    /// A day past the reply window after the end: forget the conversation.
    Purge(ConversationId),
}

/// Derived lookups, rebuilt from the stored records.
#[derive(Clone, Debug, Default)]
pub(crate) struct Derived {
    pub(crate) by_id: BTreeMap<AgentId, Slot>,
    pub(crate) free_slots: Vec<Slot>,
    pub(crate) pool: Pool,
    pub(crate) group_pools: IdMap<GroupId, Pool>,
    /// The pool of each rule whose target is not exactly one group (`None`
    /// for those, which use the group's pool), by rule index.
    pub(crate) rule_pools: Vec<Option<Pool>>,
    /// The rules whose pool holds each agent, by slot (as long as `agents`).
    pub(crate) rules_by_slot: Vec<Vec<usize>>,
    /// The rules, filed for finding the first that matches.
    pub(crate) rule_index: RuleIndex,
    /// The active conversations of each agent, by slot (as long as
    /// `agents`), in no order.
    pub(crate) active_by_slot: Vec<Vec<ConversationId>>,
    pub(crate) pools_day: Day,
    pub(crate) open_by_buyer: IdMap<BuyerId, ConversationId>,
    pub(crate) last_by_buyer: IdMap<BuyerId, ConversationId>,
    pub(crate) queue: QueueIndex,
    pub(crate) timers: Deadlines<Timer>,
    /// Expiries of recent contacts, with those of mappings refreshed since
    /// left behind (see [`Deadlines`]).
    pub(crate) recent_expiry: Deadlines<BuyerId>,
    pub(crate) order_expiry: BTreeSet<(Millis, Tag)>,
    pub(crate) last_order_at: IdMap<BuyerId, Millis>,
}

/// One shop: settings, agents, groups, conversations, queue, recent
/// contacts, orders and daily figures.
#[derive(Clone, Debug)]
pub struct Shop {
    pub(crate) id: ShopId,
    pub(crate) meta: Meta,
    pub(crate) settings: RoutingSettings,
    pub(crate) agents: Vec<Option<Agent>>,
    pub(crate) groups: BTreeMap<GroupId, BTreeSet<AgentId>>,
    pub(crate) conversations: BTreeMap<ConversationId, Conversation>,
    pub(crate) recent: IdMap<BuyerId, RecentContact>,
    pub(crate) orders: HashMap<Tag, OrderRecord>,
    /// Figures by day, then by agent. Only today and yesterday are kept, so
    /// the outer map is tiny; the inner one is hashed because every reception
    /// updates it, and an ordered map keyed by (day, agent id) cost a dozen
    /// string comparisons per update in a shop of thousands of agents.
    pub(crate) stats: BTreeMap<Day, IdMap<AgentId, AgentDay>>,
    /// The buyers each agent received, by day: what makes `receptions`
    /// count distinct buyers. Each pair is its own record, written once.
    pub(crate) received: BTreeMap<Day, IdMap<AgentId, IdSet<BuyerId>>>,
    pub(crate) d: Derived,
    pub(crate) fx: Effects,
}

/// Left-behind recent-contact expiries tolerated beyond one per mapping
/// before they are dropped, so that a small shop does not rebuild often.
const RECENT_EXPIRY_SLACK: usize = 1024;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

impl Shop {
    /// An empty shop with default settings.
    pub fn new(id: ShopId) -> Self {
        Self {
            id,
            meta: Meta::default(),
            settings: RoutingSettings::default(),
            agents: Vec::new(),
            groups: BTreeMap::new(),
            conversations: BTreeMap::new(),
            recent: IdMap::default(),
            orders: HashMap::new(),
            stats: BTreeMap::new(),
            received: BTreeMap::new(),
            d: Derived {
                pool: Pool::new(Strategy::default()),
                ..Derived::default()
            },
            fx: Effects::default(),
        }
    }

    /// The shop's id.
    pub fn id(&self) -> &ShopId {
        &self.id
    }

    /// The routing settings.
    pub fn settings(&self) -> &RoutingSettings {
        &self.settings
    }

    /// The shop day containing `now`.
    pub fn today(&self, now: Millis) -> Day {
        self.settings.timezone.day_of(now)
    }

    /// Applies one command. On error nothing has changed.
    pub fn handle<R: Rng + ?Sized>(
        &mut self,
        cmd: Command,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<(Reply, Effects)> {
        self.fire_timers(now, rng);
        let reply = match cmd {
            Command::UpsertAgent {
                agent,
                display_name,
                weight,
                groups,
            } => self.upsert_agent(agent, display_name, weight, groups, now, rng),
            Command::DeleteAgent(agent) => self.delete_agent(&agent, now, rng),
            Command::SetStatus(agent, status) => self.set_status(&agent, status, now, rng),
            Command::SetMaxLoad(agent, max) => self.set_max_load(&agent, max, now, rng),
            Command::PutGroup(group, members) => self.put_group(group, members, now, rng),
            Command::SetRouting(settings) => self.set_routing(*settings, now, rng),
            Command::Inquire(inquiry) => self.inquire(inquiry, now, rng),
            Command::Message(id, from) => self.message(id, from, now, rng),
            Command::Transfer(id, to) => self.transfer(id, &to, now, rng),
            Command::TransferToGroup(id, group) => self.transfer_to_group(id, &group, now, rng),
            Command::End(id, why) => self.end(id, why, now, rng),
            Command::Cancel(id) => self.cancel(id, now),
            Command::InviteRating(id) => self.invite_rating(id, now),
            Command::Rate(id, stars) => self.rate(id, stars, now),
            Command::OpenProactive(agent, buyer) => self.open_proactive(&agent, buyer, now),
            Command::Order(order, buyer) => self.order(order, buyer, now),
        };
        let fx = self.take_effects();
        match reply {
            Ok(reply) => Ok((reply, fx)),
            Err(e) => {
                // Commands validate before they mutate, so only timer effects
                // can be pending here; they must still be persisted.
                self.fx = fx;
                Err(e)
            }
        }
    }

    /// Effects left behind by a refused command (timers that fired first).
    pub fn take_effects(&mut self) -> Effects {
        let mut fx = std::mem::take(&mut self.fx);
        fx.changed.settle();
        fx
    }

    /// Fires every timer due at `now`.
    pub fn tick<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) -> Effects {
        self.fire_timers(now, rng);
        self.take_effects()
    }

    /// When the next timer is due, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.d.timers.next(),
            self.d.recent_expiry.next(),
            self.d.order_expiry.first().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- agents -----------------------------------------------------------

    pub(crate) fn slot(&self, id: &AgentId) -> Option<Slot> {
        self.d.by_id.get(id).copied()
    }

    /// An agent by id.
    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.slot(id).and_then(|s| self.agent_at(s))
    }

    pub(crate) fn agent_at(&self, slot: Slot) -> Option<&Agent> {
        self.agents.get(slot as usize).and_then(Option::as_ref)
    }

    fn agent_mut(&mut self, slot: Slot) -> &mut Agent {
        self.agents[slot as usize]
            .as_mut()
            .expect("slot of a live agent")
    }

    /// Every agent, by id.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> + '_ {
        self.d.by_id.values().filter_map(|&s| self.agent_at(s))
    }

    /// Number of agents.
    pub fn agent_count(&self) -> usize {
        self.d.by_id.len()
    }

    pub(crate) fn member_state(&self, a: &Agent, today: Day) -> MemberState {
        MemberState {
            status: a.status,
            saturation: a.saturation(),
            assigned_today: a.assigned_on(today),
            effective_weight: a.effective_weight(self.settings.busy_threshold),
        }
    }

    /// Brings every index entry of the agent in `slot` up to date.
    pub(crate) fn reindex(&mut self, slot: Slot) {
        // The agent is borrowed through the `agents` field, not `agent_at`, so
        // that its groups can be read while the indexes in `d` are updated,
        // without copying the group list on every load change.
        let Some(agent) = self.agents.get(slot as usize).and_then(Option::as_ref) else {
            return;
        };
        let m = self.member_state(agent, self.d.pools_day);
        let strategy = self.settings.strategy;
        self.d.pool.upsert(slot, m);
        for g in &agent.groups {
            self.d
                .group_pools
                .entry(g.clone())
                .or_insert_with(|| Pool::new(strategy))
                .upsert(slot, m);
        }
        let Derived {
            rule_pools,
            rules_by_slot,
            ..
        } = &mut self.d;
        for &rule in rules_by_slot.get(slot as usize).into_iter().flatten() {
            if let Some(pool) = rule_pools.get_mut(rule).and_then(Option::as_mut) {
                pool.upsert(slot, m);
            }
        }
    }

    /// Rebuilds the indexes when the shop day changed (assigned-today resets)
    /// or the settings that feed them changed.
    pub(crate) fn reindex_all(&mut self, today: Day) {
        self.d.pools_day = today;
        let strategy = self.settings.strategy;
        self.d.pool.keep_for(strategy);
        for pool in self.d.group_pools.values_mut() {
            pool.keep_for(strategy);
        }
        for pool in self.d.rule_pools.iter_mut().flatten() {
            pool.keep_for(strategy);
        }
        let slots: Vec<Slot> = self.d.by_id.values().copied().collect();
        for s in slots {
            self.reindex(s);
        }
    }

    /// The one group a rule targets, when it names exactly one group and no
    /// agent: such a rule picks from the group's own pool.
    pub(crate) fn single_group(to: &Target) -> Option<&GroupId> {
        match (to.agents.as_slice(), to.groups.as_slice()) {
            ([], [g]) => Some(g),
            _ => None,
        }
    }

    /// Files the rules for matching and rebuilds the pool of every rule that
    /// names agents or several groups: after the rules changed, or a restore.
    pub(crate) fn rebuild_rule_indexes(&mut self) {
        self.d.rule_index = RuleIndex::new(&self.settings.rules);
        let strategy = self.settings.strategy;
        let mut rules_by_slot: Vec<Vec<usize>> = vec![Vec::new(); self.agents.len()];
        let mut rule_pools = Vec::with_capacity(self.settings.rules.len());
        for (i, rule) in self.settings.rules.iter().enumerate() {
            if Shop::single_group(&rule.to).is_some() {
                rule_pools.push(None);
                continue;
            }
            let named = rule.to.agents.iter();
            let members = rule
                .to
                .groups
                .iter()
                .filter_map(|g| self.groups.get(g))
                .flatten();
            let mut pool = Pool::new(strategy);
            for id in named.chain(members) {
                let Some(slot) = self.slot(id) else { continue };
                if pool.contains(slot) {
                    continue;
                }
                let a = self.agent_at(slot).expect("live");
                pool.upsert(slot, self.member_state(a, self.d.pools_day));
                rules_by_slot[slot as usize].push(i);
            }
            rule_pools.push(Some(pool));
        }
        self.d.rule_pools = rule_pools;
        self.d.rules_by_slot = rules_by_slot;
    }

    /// Brings the rule pools holding the agent in `slot` up to date after it
    /// was created, joined or left a group, or was deleted (`None`): it is in
    /// the pool of every rule that names it or one of its groups.
    fn refresh_rule_membership(&mut self, slot: Slot) {
        let wanted: Vec<usize> = match self.agent_at(slot) {
            None => Vec::new(),
            Some(a) => self
                .settings
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| Shop::single_group(&r.to).is_none())
                .filter(|(_, r)| {
                    r.to.agents.contains(&a.id) || r.to.groups.iter().any(|g| a.groups.contains(g))
                })
                .map(|(i, _)| i)
                .collect(),
        };
        let at = slot as usize;
        let old = std::mem::take(&mut self.d.rules_by_slot[at]);
        for i in old.iter().filter(|i| !wanted.contains(i)) {
            if let Some(pool) = self.d.rule_pools.get_mut(*i).and_then(Option::as_mut) {
                pool.remove(slot);
            }
        }
        if let Some(a) = self.agent_at(slot) {
            let m = self.member_state(a, self.d.pools_day);
            for &i in &wanted {
                if let Some(pool) = self.d.rule_pools.get_mut(i).and_then(Option::as_mut) {
                    pool.upsert(slot, m);
                }
            }
        }
        self.d.rules_by_slot[at] = wanted;
    }

    fn ensure_day(&mut self, now: Millis) {
        let today = self.today(now);
        if today != self.d.pools_day {
            self.reindex_all(today);
        }
    }

    fn upsert_agent<R: Rng + ?Sized>(
        &mut self,
        id: AgentId,
        display_name: Option<String>,
        weight: Option<Weight>,
        groups: Option<Vec<GroupId>>,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if let Some(name) = &display_name {
            let chars = name.chars().count();
            if chars == 0 || chars > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
                return Err(InvalidInput::new(format!(
                    "display_name must be 1 to {MAX_DISPLAY_NAME} characters without control characters"
                ))
                .into());
            }
        }
        let slot = match self.slot(&id) {
            Some(s) => s,
            None => {
                let slot = self.d.free_slots.pop().unwrap_or(self.agents.len() as Slot);
                if slot as usize == self.agents.len() {
                    // A new slot: every list kept by slot grows with it.
                    self.agents.push(None);
                    self.d.active_by_slot.push(Vec::new());
                    self.d.rules_by_slot.push(Vec::new());
                }
                self.agents[slot as usize] = Some(Agent::new(id.clone()));
                self.d.by_id.insert(id.clone(), slot);
                self.refresh_rule_membership(slot);
                slot
            }
        };
        let agent = self.agent_mut(slot);
        if let Some(name) = display_name {
            agent.display_name = Some(name);
        }
        if let Some(w) = weight {
            agent.weight = w;
        }
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        if let Some(groups) = groups {
            let new: BTreeSet<GroupId> = groups.into_iter().collect();
            let old = self
                .agent_at(slot)
                .map(|a| a.groups.clone())
                .unwrap_or_default();
            for g in old.difference(&new) {
                self.leave_group(slot, &id, g);
            }
            for g in new.difference(&old) {
                self.join_group(slot, &id, g.clone());
            }
        }
        self.ensure_day(now);
        self.reindex(slot);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    // Membership is stored on both sides (the group's members and the
    // agent's groups), so both records change.
    fn join_group(&mut self, slot: Slot, id: &AgentId, g: GroupId) {
        self.groups.entry(g.clone()).or_default().insert(id.clone());
        self.fx.changed.push(RecordKey::Group(g.clone()));
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        self.agent_mut(slot).groups.insert(g.clone());
        let m = self.member_state(self.agent_at(slot).expect("live"), self.d.pools_day);
        let strategy = self.settings.strategy;
        self.d
            .group_pools
            .entry(g)
            .or_insert_with(|| Pool::new(strategy))
            .upsert(slot, m);
        self.refresh_rule_membership(slot);
    }

    fn leave_group(&mut self, slot: Slot, id: &AgentId, g: &GroupId) {
        if let Some(members) = self.groups.get_mut(g) {
            members.remove(id);
            self.fx.changed.push(RecordKey::Group(g.clone()));
        }
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        self.agent_mut(slot).groups.remove(g);
        if let Some(pool) = self.d.group_pools.get_mut(g) {
            pool.remove(slot);
        }
        self.refresh_rule_membership(slot);
    }

    fn delete_agent<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self
            .slot(id)
            .ok_or_else(|| CoreError::not_found(format!("agent {id} not found")))?;
        let groups: Vec<GroupId> = self
            .agent_at(slot)
            .expect("live")
            .groups
            .iter()
            .cloned()
            .collect();
        for g in &groups {
            self.leave_group(slot, id, g);
        }
        let active = self.active_conversations_of(id);
        // Each goes to the head of the queue, so the newest goes first and
        // the oldest ends up served first.
        for cid in active.into_iter().rev() {
            self.release(cid);
            self.requeue_at_front(cid, now);
        }
        self.d.pool.remove(slot);
        self.agents[slot as usize] = None;
        self.refresh_rule_membership(slot);
        self.d.by_id.remove(id);
        self.d.free_slots.push(slot);
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    fn set_status<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        status: AgentStatus,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self
            .slot(id)
            .ok_or_else(|| CoreError::not_found(format!("agent {id} not found")))?;
        let agent = self.agent_mut(slot);
        if agent.status == status {
            return Ok(Reply::Done);
        }
        agent.status = status;
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        self.fx.events.push(Event::AgentStatus {
            agent_id: id.clone(),
            status,
        });
        self.ensure_day(now);
        self.reindex(slot);
        // Going online adds capacity; going busy or offline can leave a rule's
        // target set with nobody online, which turns on overflow for the
        // conversations queued behind it. Either way the queue is looked at.
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    fn set_max_load<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        max: MaxLoad,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self
            .slot(id)
            .ok_or_else(|| CoreError::not_found(format!("agent {id} not found")))?;
        let agent = self.agent_mut(slot);
        if agent.max_load == max {
            return Ok(Reply::Done);
        }
        agent.max_load = max;
        self.fx.changed.push(RecordKey::Agent(id.clone()));
        self.ensure_day(now);
        self.reindex(slot);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    fn put_group<R: Rng + ?Sized>(
        &mut self,
        group: GroupId,
        members: Vec<AgentId>,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if let Some(unknown) = members.iter().find(|a| self.slot(a).is_none()) {
            return Err(CoreError::not_found(format!("agent {unknown} not found")));
        }
        let new: BTreeSet<AgentId> = members.into_iter().collect();
        let old = self.groups.get(&group).cloned().unwrap_or_default();
        for a in old.difference(&new) {
            if let Some(slot) = self.slot(a) {
                self.leave_group(slot, a, &group);
            }
        }
        for a in new.difference(&old) {
            let slot = self.slot(a).expect("checked above");
            self.join_group(slot, a, group.clone());
        }
        self.groups.entry(group.clone()).or_default();
        let strategy = self.settings.strategy;
        self.d
            .group_pools
            .entry(group.clone())
            .or_insert_with(|| Pool::new(strategy));
        self.fx.changed.push(RecordKey::Group(group));
        self.ensure_day(now);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    fn set_routing<R: Rng + ?Sized>(
        &mut self,
        settings: RoutingSettings,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        settings.validate()?;
        let order_changed = settings.queue.order != self.settings.queue.order;
        let timers_changed = settings.timers != self.settings.timers;
        self.settings = settings;
        self.fx.changed.push(RecordKey::Settings);
        if order_changed {
            // Keys keep their arrival order; only the direction of service flips.
            self.fx.changed.push(RecordKey::Meta);
        }
        self.reindex_all(self.today(now));
        self.rebuild_rule_indexes();
        if timers_changed {
            // Pending timers and order expiries were set with the old
            // durations: set them again with the new ones, as a restore
            // would, and fire those that are now due.
            self.rebuild_timers();
            self.fire_timers(now, rng);
        }
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    // ---- conversations ----------------------------------------------------

    /// A conversation by id.
    pub fn conversation(&self, id: ConversationId) -> Option<&Conversation> {
        self.conversations.get(&id)
    }

    /// The buyer's queued or active conversation.
    pub fn open_conversation_of(&self, buyer: &BuyerId) -> Option<ConversationId> {
        self.d.open_by_buyer.get(buyer).copied()
    }

    fn conversation_or_404(&self, id: ConversationId) -> CoreResult<&Conversation> {
        self.conversations
            .get(&id)
            .ok_or_else(|| CoreError::not_found(format!("conversation {id} not found")))
    }

    fn conv_mut(&mut self, id: ConversationId) -> &mut Conversation {
        self.fx.changed.push(RecordKey::Conversation(id));
        self.conversations.get_mut(&id).expect("live conversation")
    }

    fn new_conversation(&mut self, inquiry: Inquiry, now: Millis) -> ConversationId {
        self.meta.next_conversation += 1;
        let id = ConversationId(self.meta.next_conversation);
        self.fx.changed.push(RecordKey::Meta);
        self.fx.changed.push(RecordKey::Conversation(id));
        self.d.open_by_buyer.insert(inquiry.buyer_id.clone(), id);
        let strategy = self.settings.strategy;
        self.conversations.insert(
            id,
            Conversation {
                id,
                inquiry,
                status: ConversationStatus::Queued,
                agent: None,
                reason: Reason::Queued,
                offline_delivery: false,
                queue_key: None,
                created_at: now,
                assigned_at: None,
                assigned_day: None,
                ended_at: None,
                end_reason: None,
                clock: ReplyClock::default(),
                last_agent_reply_at: None,
                last_buyer_message_at: None,
                rating_invited: false,
                rating: None,
                proactive: false,
                explanation: Explanation::new(now, Reason::Queued, strategy),
            },
        );
        id
    }

    fn inquire<R: Rng + ?Sized>(
        &mut self,
        inquiry: Inquiry,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if let Some(id) = self.open_conversation_of(&inquiry.buyer_id) {
            return Ok(Reply::Conversation {
                id,
                created: false,
                reason: Reason::Existing,
            });
        }
        self.ensure_day(now);
        let routed = self.route(&inquiry, false, now, rng, &mut Memo::default());
        let max_length = self.settings.queue.max_length;
        let full = |m: &u32| routed.pick.is_none() && self.queue_len() >= *m as usize;
        if let Some(max) = max_length.filter(full) {
            return Err(CoreError::conflict(format!(
                "the queue is full ({max} waiting); ask again later"
            )));
        }
        let explanation = self.explain_routed(&routed, now);
        let id = self.new_conversation(inquiry, now);
        let reason = match routed.pick {
            Some(pick) => {
                self.assign(id, pick.slot, pick.reason, pick.offline, explanation, now);
                pick.reason
            }
            None => {
                self.enqueue(id, false, explanation);
                Reason::Queued
            }
        };
        Ok(Reply::Conversation {
            id,
            created: true,
            reason,
        })
    }

    /// Gives a conversation to the agent in `slot`, starting its reply clock.
    pub(crate) fn assign(
        &mut self,
        id: ConversationId,
        slot: Slot,
        reason: Reason,
        offline: bool,
        explanation: Explanation,
        now: Millis,
    ) {
        let today = self.today(now);
        let late_at = self.settings.timers.late_at(now);
        let agent_id = self.agent_at(slot).expect("live").id.clone();
        let c = self.conv_mut(id);
        let queue_key = c.queue_key.take();
        c.status = ConversationStatus::Active;
        c.agent = Some(agent_id.clone());
        c.reason = reason;
        c.offline_delivery = offline;
        c.assigned_at = Some(now);
        c.assigned_day = Some(today);
        c.clock = ReplyClock {
            running_since: Some(now),
            ever_ran: true,
            late: false,
        };
        c.explanation = explanation;
        let buyer = c.inquiry.buyer_id.clone();
        if let Some(key) = queue_key {
            self.d.queue.remove(key);
        }
        self.d.timers.push(late_at, Timer::Late(id));
        self.take_on(slot, id, today, true);
        self.count_reception(today, &agent_id, &buyer, true);
        self.d.last_by_buyer.insert(buyer.clone(), id);
        self.refresh_recent(&buyer, &agent_id, now);
        self.fx.events.push(Event::Assigned {
            conversation_id: id,
            buyer_id: buyer,
            agent_id,
            reason,
            offline_delivery: offline,
        });
    }

    /// One more conversation, `id`, for the agent in `slot`.
    fn take_on(&mut self, slot: Slot, id: ConversationId, today: Day, clock_running: bool) {
        self.active_of_slot(slot).push(id);
        let agent = self.agent_mut(slot);
        agent.load += 1;
        if agent.assigned_day != today {
            agent.assigned_day = today;
            agent.assigned_count = 0;
        }
        agent.assigned_count += 1;
        if clock_running {
            agent.unreplied += 1;
        }
        let id = agent.id.clone();
        self.fx.changed.push(RecordKey::Agent(id));
        self.reindex(slot);
    }

    /// The active conversations of the agent in `slot`.
    fn active_of_slot(&mut self, slot: Slot) -> &mut Vec<ConversationId> {
        &mut self.d.active_by_slot[slot as usize]
    }

    /// The conversation leaves its agent (end, transfer, agent deleted).
    fn release(&mut self, id: ConversationId) {
        let c = &self.conversations[&id];
        let running = c.clock.is_running();
        let Some(slot) = c.agent.as_ref().and_then(|a| self.slot(a)) else {
            return;
        };
        let active = self.active_of_slot(slot);
        if let Some(at) = active.iter().position(|&c| c == id) {
            active.swap_remove(at);
        }
        let agent = self.agent_mut(slot);
        agent.load = agent.load.saturating_sub(1);
        if running {
            agent.unreplied = agent.unreplied.saturating_sub(1);
        }
        let aid = agent.id.clone();
        self.fx.changed.push(RecordKey::Agent(aid));
        self.reindex(slot);
    }

    fn enqueue(&mut self, id: ConversationId, at_front: bool, explanation: Explanation) {
        let fifo = self.settings.queue.order == QueueOrder::Fifo;
        let key = if at_front && fifo {
            self.meta.queue_front -= 1;
            self.meta.queue_front
        } else {
            self.meta.queue_back += 1;
            self.meta.queue_back
        };
        self.fx.changed.push(RecordKey::Meta);
        self.d.queue.insert(key, id);
        // The new key is the highest of the queue (taken at the back) or the
        // lowest (at the front), so its position needs no count: FIFO serves
        // the lowest key first, LIFO the highest.
        let position = if fifo && key == self.meta.queue_back {
            self.d.queue.len() as u32
        } else {
            1
        };
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Queued;
        c.reason = Reason::Queued;
        c.queue_key = Some(key);
        c.explanation = explanation;
        let buyer = c.inquiry.buyer_id.clone();
        debug_assert_eq!(self.position(id), Some(position));
        self.fx.events.push(Event::Queued {
            conversation_id: id,
            buyer_id: buyer,
            position,
        });
    }

    fn requeue_at_front(&mut self, id: ConversationId, now: Millis) {
        let strategy = self.settings.strategy;
        let c = self.conv_mut(id);
        let from = c.agent.take();
        c.assigned_at = None;
        c.assigned_day = None;
        c.clock = ReplyClock::default();
        c.offline_delivery = false;
        let buyer = c.inquiry.buyer_id.clone();
        if let Some(from_agent_id) = from {
            // Tell the agent's own stream its conversation was taken away.
            self.fx.events.push(Event::Requeued {
                conversation_id: id,
                buyer_id: buyer.clone(),
                from_agent_id,
            });
        }
        self.enqueue(id, true, Explanation::new(now, Reason::Queued, strategy));
        // It no longer counts as assigned, so an order credits the buyer's
        // previous conversation, if any: the same answer a restore gives.
        match self.latest_assigned(&buyer) {
            Some(last) => self.d.last_by_buyer.insert(buyer, last),
            None => self.d.last_by_buyer.remove(&buyer),
        };
    }

    /// The buyer's conversation assigned last. A scan of the conversations:
    /// only deleting an agent needs it.
    fn latest_assigned(&self, buyer: &BuyerId) -> Option<ConversationId> {
        self.conversations
            .values()
            .filter(|c| &c.inquiry.buyer_id == buyer)
            .filter_map(|c| c.assigned_at.map(|at| (at, c.id)))
            .max()
            .map(|(_, id)| id)
    }

    /// The 1-based position of a queued conversation, counted from the next to be served.
    pub fn position(&self, id: ConversationId) -> Option<u32> {
        let key = self.conversations.get(&id)?.queue_key?;
        // FIFO serves the lowest key first, LIFO the highest.
        let ahead = match self.settings.queue.order {
            QueueOrder::Fifo => self.d.queue.count_below(key),
            QueueOrder::Lifo => self.d.queue.count_above(key),
        };
        Some(ahead as u32 + 1)
    }

    /// Queued conversations in the order they will be served.
    pub fn queue(&self) -> Box<dyn Iterator<Item = &Conversation> + '_> {
        let ids = self.d.queue.iter().map(|(_, id)| id);
        let convs = &self.conversations;
        match self.settings.queue.order {
            QueueOrder::Fifo => Box::new(ids.map(move |id| &convs[id])),
            QueueOrder::Lifo => Box::new(ids.rev().map(move |id| &convs[id])),
        }
    }

    /// At most `limit` queued conversations in the order they will be served,
    /// from the one at 0-based position `offset` on.
    pub fn queue_page(&self, offset: usize, limit: usize) -> Vec<&Conversation> {
        let len = self.d.queue.len();
        let end = offset.saturating_add(limit).min(len);
        let page = match self.settings.queue.order {
            QueueOrder::Fifo => self.d.queue.by_rank(offset, end),
            QueueOrder::Lifo => {
                let mut page = self
                    .d
                    .queue
                    .by_rank(len.saturating_sub(end), len.saturating_sub(offset));
                page.reverse();
                page
            }
        };
        page.iter().map(|(_, id)| &self.conversations[id]).collect()
    }

    /// Number of queued conversations.
    pub fn queue_len(&self) -> usize {
        self.d.queue.len()
    }

    /// Number of agents by status: (online, busy, offline).
    pub fn status_counts(&self) -> (u32, u32, u32) {
        let p = &self.d.pool;
        (
            p.count(AgentStatus::Online),
            p.count(AgentStatus::Busy),
            p.count(AgentStatus::Offline),
        )
    }

    /// Number of active conversations.
    pub fn active_count(&self) -> usize {
        self.d.open_by_buyer.len() - self.d.queue.len()
    }

    /// Places queued conversations, in queue order, while any can be placed.
    ///
    /// Capacity only shrinks during a drain, so one pass in order is enough: a
    /// conversation that could not be placed cannot become placeable later in
    /// the same pass.
    pub(crate) fn drain<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) {
        if self.d.queue.is_empty() {
            return;
        }
        self.ensure_day(now);
        let fifo = self.settings.queue.order == QueueOrder::Fifo;
        let mut memo = Memo::default();
        let mut cursor: Option<i64> = None;
        while self.d.pool.available() > 0 {
            let next = match (fifo, cursor) {
                (true, None) => self.d.queue.first(),
                (true, Some(k)) => self.d.queue.next_above(k),
                (false, None) => self.d.queue.last(),
                (false, Some(k)) => self.d.queue.next_below(k),
            };
            let Some((key, id)) = next else { break };
            cursor = Some(key);
            self.place_queued(id, now, rng, &mut memo);
        }
    }

    /// Decides one queued conversation again, as the drain does, and assigns
    /// it if an agent of its target set is available.
    fn place_queued<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        now: Millis,
        rng: &mut R,
        memo: &mut Memo,
    ) {
        let inquiry = self.conversations[&id].inquiry.clone();
        let routed = self.route(&inquiry, true, now, rng, memo);
        if let Some(pick) = routed.pick {
            let explanation = self.explain_routed(&routed, now);
            self.assign(id, pick.slot, pick.reason, false, explanation, now);
        }
    }

    /// A queued buyer's recent agent changed without any capacity appearing
    /// (the agent wrote to the buyer's ended conversation): the buyer's queued
    /// conversation, if any, is decided again, since recent contact may now
    /// place it. The rest of the queue cannot gain from this.
    fn recent_contact_changed<R: Rng + ?Sized>(
        &mut self,
        buyer: &BuyerId,
        now: Millis,
        rng: &mut R,
    ) {
        if !self.settings.recent_contact.enabled {
            return;
        }
        let Some(id) = self.open_conversation_of(buyer) else {
            return;
        };
        if self.conversations[&id].status == ConversationStatus::Queued {
            self.ensure_day(now);
            self.place_queued(id, now, rng, &mut Memo::default());
        }
    }

    fn message<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        from: Party,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        let window = self.settings.timers.reply_window_secs as i64 * 1000;
        match (from, c.status) {
            (Party::Buyer, ConversationStatus::Active) => {
                self.buyer_message(id, now);
                Ok(self.same(id))
            }
            (Party::Buyer, ConversationStatus::Queued) => {
                self.conv_mut(id).last_buyer_message_at = Some(now);
                Ok(self.same(id))
            }
            (Party::Buyer, ConversationStatus::Ended | ConversationStatus::Cancelled) => {
                // A buyer writing after the end starts a new inquiry.
                let inquiry = c.inquiry.clone();
                self.inquire(inquiry, now, rng)
            }
            (Party::Agent, ConversationStatus::Active) => {
                self.agent_message(id, now);
                Ok(self.same(id))
            }
            (Party::Agent, ConversationStatus::Ended) => {
                let ended = c.ended_at.unwrap_or(now);
                if now > ended + window {
                    return Err(CoreError::conflict(
                        "the reply window after the end of this conversation has passed",
                    ));
                }
                let (buyer, agent) = (c.inquiry.buyer_id.clone(), c.agent.clone());
                self.conv_mut(id).last_agent_reply_at = Some(now);
                if let Some(agent) = agent {
                    self.refresh_recent(&buyer, &agent, now);
                    self.recent_contact_changed(&buyer, now, rng);
                }
                Ok(self.same(id))
            }
            (Party::Agent, ConversationStatus::Queued | ConversationStatus::Cancelled) => Err(
                CoreError::conflict("conversation has no agent: it is queued or cancelled"),
            ),
        }
    }

    fn same(&self, id: ConversationId) -> Reply {
        Reply::Conversation {
            id,
            created: false,
            reason: self.conversations[&id].reason,
        }
    }

    fn buyer_message(&mut self, id: ConversationId, now: Millis) {
        let figures_day = self.figures_day(self.conversations[&id].assigned_day, now);
        let late_at = self.settings.timers.late_at(now);
        let c = self.conv_mut(id);
        c.last_buyer_message_at = Some(now);
        let buyer = c.inquiry.buyer_id.clone();
        let agent = c.agent.clone().expect("active conversation has an agent");
        let started = !c.clock.is_running();
        let first_run = !c.clock.ever_ran;
        if started {
            c.clock.running_since = Some(now);
            c.clock.ever_ran = true;
            self.d.timers.push(late_at, Timer::Late(id));
            if let Some(slot) = self.slot(&agent) {
                self.agent_mut(slot).unreplied += 1;
                self.fx.changed.push(RecordKey::Agent(agent.clone()));
                self.reindex(slot);
            }
            if let Some(day) = figures_day.filter(|_| first_run) {
                self.day_stats(day, &agent).clocked += 1;
            }
        }
        self.refresh_recent(&buyer, &agent, now);
    }

    fn agent_message(&mut self, id: ConversationId, now: Millis) {
        let figures_day = self.figures_day(self.conversations[&id].assigned_day, now);
        let timers = self.settings.timers.clone();
        let c = self.conv_mut(id);
        c.last_agent_reply_at = Some(now);
        let buyer = c.inquiry.buyer_id.clone();
        let agent = c.agent.clone().expect("active conversation has an agent");
        if let Some(since) = c.clock.running_since.take() {
            let newly_late = !c.clock.late && now >= timers.late_at(since);
            if newly_late {
                c.clock.late = true;
            }
            if let Some(day) = figures_day.filter(|_| newly_late) {
                self.day_stats(day, &agent).late += 1;
            }
            if let Some(slot) = self.slot(&agent) {
                let a = self.agent_mut(slot);
                a.unreplied = a.unreplied.saturating_sub(1);
                self.fx.changed.push(RecordKey::Agent(agent.clone()));
                self.reindex(slot);
            }
        }
        self.d
            .timers
            .push(now + timers.auto_end_secs as i64 * 1000, Timer::AutoEnd(id));
        self.refresh_recent(&buyer, &agent, now);
    }

    /// The agent of an active conversation, or why it cannot be transferred.
    fn transferable(&self, id: ConversationId) -> CoreResult<AgentId> {
        let c = self.conversation_or_404(id)?;
        if c.status != ConversationStatus::Active {
            return Err(CoreError::conflict(
                "only an active conversation can be transferred",
            ));
        }
        Ok(c.agent.clone().expect("active conversation has an agent"))
    }

    fn transfer<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        to: &AgentId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let from = self.transferable(id)?;
        let slot = self
            .slot(to)
            .ok_or_else(|| CoreError::not_found(format!("agent {to} not found")))?;
        let target = self.agent_at(slot).expect("live");
        if target.status == AgentStatus::Offline {
            return Err(CoreError::conflict(format!("agent {to} is offline")));
        }
        if &from == to {
            return Err(CoreError::conflict(format!(
                "conversation is already with agent {to}"
            )));
        }
        let mut explanation = Explanation::new(now, Reason::Transfer, self.settings.strategy);
        explanation
            .agents
            .push(self.considered(target, self.today(now), Verdict::Picked));
        explanation.target_size = 1;
        explanation.picked = Some(to.clone());
        Ok(self.hand_over(id, from, slot, explanation, now, rng))
    }

    /// Transfers to an agent of `group` (转接到分组), picked by the shop's
    /// strategy among the members other than the current agent that are
    /// online with room; a conflict when there is none.
    fn transfer_to_group<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        group: &GroupId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let from = self.transferable(id)?;
        let members = self
            .groups
            .get(group)
            .ok_or_else(|| CoreError::not_found(format!("group {group} not found")))?;
        let from_slot = self.slot(&from);
        // Members in id order, so that a seed gives the same pick.
        let slots: Vec<Slot> = members
            .iter()
            .filter_map(|a| self.slot(a))
            .filter(|&s| Some(s) != from_slot)
            .collect();
        self.ensure_day(now);
        let Some(slot) = self.scan_pick(slots.iter().copied(), rng) else {
            return Err(CoreError::conflict(format!(
                "no agent of group {group} besides {from} is online with room"
            )));
        };
        let today = self.today(now);
        let mut explanation = Explanation::new(now, Reason::Transfer, self.settings.strategy);
        explanation.target_size = slots.len() as u32;
        for &s in slots.iter().take(EXPLAIN_LIST_LIMIT) {
            let a = self.agent_at(s).expect("live");
            let verdict = if s == slot {
                Verdict::Picked
            } else {
                Shop::plain_verdict(a)
            };
            explanation.agents.push(self.considered(a, today, verdict));
        }
        if !explanation
            .agents
            .iter()
            .any(|a| a.verdict == Verdict::Picked)
        {
            let a = self.agent_at(slot).expect("live");
            explanation
                .agents
                .push(self.considered(a, today, Verdict::Picked));
        }
        explanation.picked = self.agent_at(slot).map(|a| a.id.clone());
        Ok(self.hand_over(id, from, slot, explanation, now, rng))
    }

    /// Moves an active conversation from agent `from` to the agent in `slot`.
    fn hand_over<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        from: AgentId,
        slot: Slot,
        explanation: Explanation,
        now: Millis,
        rng: &mut R,
    ) -> Reply {
        let to = self.agent_at(slot).expect("live").id.clone();
        self.release(id);
        let reason = self.conversations[&id].reason;
        self.assign(id, slot, reason, false, explanation, now);
        // `assign` announced an assignment; a transfer is announced as such.
        self.fx.events.pop();
        self.fx.events.push(Event::Transferred {
            conversation_id: id,
            from_agent_id: from,
            agent_id: to,
        });
        self.drain(now, rng);
        self.same(id)
    }

    fn end<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        why: EndReason,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        match c.status {
            ConversationStatus::Active => {}
            ConversationStatus::Ended => return Ok(self.same(id)),
            ConversationStatus::Queued | ConversationStatus::Cancelled => {
                return Err(CoreError::conflict(
                    "only an active conversation can be ended; cancel a queued one",
                ))
            }
        }
        self.finish(id, why, now);
        self.drain(now, rng);
        Ok(self.same(id))
    }

    fn finish(&mut self, id: ConversationId, why: EndReason, at: Millis) {
        self.release(id);
        let purge_at = self.settings.timers.purge_at(at);
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Ended;
        c.ended_at = Some(at);
        c.end_reason = Some(why);
        c.clock.running_since = None;
        let agent_id = c.agent.clone();
        let buyer = c.inquiry.buyer_id.clone();
        self.d.open_by_buyer.remove(&buyer);
        self.d.timers.push(purge_at, Timer::Purge(id));
        self.fx.events.push(Event::Ended {
            conversation_id: id,
            agent_id,
            end_reason: why,
        });
    }

    fn cancel(&mut self, id: ConversationId, now: Millis) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        match c.status {
            ConversationStatus::Queued => {}
            ConversationStatus::Cancelled => return Ok(self.same(id)),
            ConversationStatus::Active | ConversationStatus::Ended => {
                return Err(CoreError::conflict(
                    "only a queued conversation can be cancelled",
                ))
            }
        }
        let purge_at = self.settings.timers.purge_at(now);
        let key = c.queue_key.expect("queued conversation has a key");
        self.d.queue.remove(key);
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Cancelled;
        c.queue_key = None;
        c.ended_at = Some(now);
        let buyer = c.inquiry.buyer_id.clone();
        self.d.open_by_buyer.remove(&buyer);
        self.d.timers.push(purge_at, Timer::Purge(id));
        self.fx.events.push(Event::Cancelled {
            conversation_id: id,
            buyer_id: buyer,
        });
        Ok(self.same(id))
    }

    /// Whether ratings and late agent messages are still accepted.
    fn within_reply_window(&self, c: &Conversation, now: Millis) -> bool {
        let window = self.settings.timers.reply_window_secs as i64 * 1000;
        match c.status {
            ConversationStatus::Active => true,
            ConversationStatus::Ended => c.ended_at.is_some_and(|t| now <= t + window),
            ConversationStatus::Queued | ConversationStatus::Cancelled => false,
        }
    }

    fn invite_rating(&mut self, id: ConversationId, now: Millis) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        if !self.within_reply_window(c, now) {
            return Err(CoreError::conflict(
                "a rating can be invited only during the conversation or its reply window",
            ));
        }
        if c.rating_invited {
            return Err(CoreError::conflict("a rating was already invited"));
        }
        self.conv_mut(id).rating_invited = true;
        Ok(self.same(id))
    }

    fn rate(&mut self, id: ConversationId, stars: u8, now: Millis) -> CoreResult<Reply> {
        if !(1..=5).contains(&stars) {
            return Err(InvalidInput::new("stars must be between 1 and 5").into());
        }
        let c = self.conversation_or_404(id)?;
        if !self.within_reply_window(c, now) {
            return Err(CoreError::conflict(
                "a rating is accepted only during the conversation or its reply window",
            ));
        }
        if c.rating.is_some() {
            return Err(CoreError::conflict("the conversation was already rated"));
        }
        let agent = c.agent.clone();
        self.conv_mut(id).rating = Some(stars);
        if let Some(agent) = agent {
            let today = self.today(now);
            let day = self.day_stats(today, &agent);
            day.ratings += 1;
            if stars >= 4 {
                day.satisfied += 1;
            }
        }
        Ok(self.same(id))
    }

    fn open_proactive(
        &mut self,
        agent: &AgentId,
        buyer: BuyerId,
        now: Millis,
    ) -> CoreResult<Reply> {
        let slot = self
            .slot(agent)
            .ok_or_else(|| CoreError::not_found(format!("agent {agent} not found")))?;
        if self.agent_at(slot).expect("live").status == AgentStatus::Offline {
            return Err(CoreError::conflict(
                "an offline agent cannot open a conversation",
            ));
        }
        let window = self.settings.timers.proactive_window_secs as i64 * 1000;
        let ordered = self
            .d
            .last_order_at
            .get(&buyer)
            .is_some_and(|&t| now - t <= window);
        if !ordered {
            return Err(CoreError::conflict(
                "the buyer has no order with the shop within the proactive window",
            ));
        }
        if let Some(open) = self.open_conversation_of(&buyer) {
            return Err(CoreError::conflict(format!(
                "the buyer already has an open conversation {open}"
            )));
        }
        self.ensure_day(now);
        let today = self.today(now);
        let inquiry = Inquiry {
            buyer_id: buyer.clone(),
            entry: Entry::DirectMessage,
            question: None,
            order_state: None,
            product_id: None,
            intent: None,
        };
        let id = self.new_conversation(inquiry, now);
        let mut explanation = Explanation::new(now, Reason::Proactive, self.settings.strategy);
        explanation.picked = Some(agent.clone());
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Active;
        c.agent = Some(agent.clone());
        c.reason = Reason::Proactive;
        c.proactive = true;
        c.assigned_at = Some(now);
        c.assigned_day = Some(today);
        c.explanation = explanation;
        self.take_on(slot, id, today, false);
        self.count_reception(today, agent, &buyer, false);
        self.d.last_by_buyer.insert(buyer.clone(), id);
        self.refresh_recent(&buyer, agent, now);
        self.fx.events.push(Event::Assigned {
            conversation_id: id,
            buyer_id: buyer,
            agent_id: agent.clone(),
            reason: Reason::Proactive,
            offline_delivery: false,
        });
        Ok(Reply::Conversation {
            id,
            created: true,
            reason: Reason::Proactive,
        })
    }

    fn order(&mut self, order_id: Tag, buyer: BuyerId, now: Millis) -> CoreResult<Reply> {
        if let Some(existing) = self.orders.get(&order_id) {
            if existing.buyer_id != buyer {
                return Err(CoreError::conflict(format!(
                    "order {order_id} was already recorded for another buyer"
                )));
            }
            return Ok(Reply::Order(existing.clone()));
        }
        let window = self.settings.timers.reply_window_secs as i64 * 1000;
        let credited = self
            .d
            .last_by_buyer
            .get(&buyer)
            .and_then(|id| self.conversations.get(id))
            .filter(|c| match c.status {
                ConversationStatus::Active => true,
                ConversationStatus::Ended => c.ended_at.is_some_and(|t| now <= t + window),
                _ => false,
            })
            .and_then(|c| c.agent.clone());
        if let Some(agent) = &credited {
            let today = self.today(now);
            self.day_stats(today, agent).credited_orders += 1;
        }
        let record = OrderRecord {
            order_id: order_id.clone(),
            buyer_id: buyer.clone(),
            credited_agent: credited,
            at: now,
        };
        self.index_order(&record);
        self.orders.insert(order_id.clone(), record.clone());
        self.fx.changed.push(RecordKey::Order(order_id));
        Ok(Reply::Order(record))
    }

    pub(crate) fn index_order(&mut self, record: &OrderRecord) {
        let window = self.settings.timers.proactive_window_secs as i64 * 1000;
        let last = self
            .d
            .last_order_at
            .entry(record.buyer_id.clone())
            .or_insert(record.at);
        *last = (*last).max(record.at);
        self.d
            .order_expiry
            .insert((record.at + window, record.order_id.clone()));
    }

    /// An order by id.
    pub fn order_record(&self, order_id: &Tag) -> Option<&OrderRecord> {
        self.orders.get(order_id)
    }

    // ---- recent contact ---------------------------------------------------

    /// Sets or refreshes the buyer's recent agent. With recent contact off
    /// nothing is kept or written: the mapping is the feature's alone.
    fn refresh_recent(&mut self, buyer: &BuyerId, agent: &AgentId, now: Millis) {
        if !self.settings.recent_contact.enabled {
            return;
        }
        let expires_at = now + self.settings.recent_contact.window_secs as i64 * 1000;
        let fresh = RecentContact {
            agent: agent.clone(),
            expires_at,
        };
        self.recent.insert(buyer.clone(), fresh);
        // The expiry this refresh replaces stays behind until it is due; when
        // left-behind ones outnumber the mappings, they are dropped at once
        // (in linear time, so a refresh costs O(1) amortised).
        self.d.recent_expiry.push(expires_at, buyer.clone());
        if self.d.recent_expiry.len() > 2 * self.recent.len() + RECENT_EXPIRY_SLACK {
            self.rebuild_recent_expiry();
        }
        self.fx.changed.push(RecordKey::Recent(buyer.clone()));
    }

    /// Sets the recent-contact expiries to those of the current mappings.
    pub(crate) fn rebuild_recent_expiry(&mut self) {
        self.d.recent_expiry.rebuild(
            self.recent
                .iter()
                .map(|(buyer, r)| (r.expires_at, buyer.clone())),
        );
    }

    /// The buyer's recent agent, if the mapping has not lapsed.
    pub fn recent_agent(&self, buyer: &BuyerId, now: Millis) -> Option<&AgentId> {
        self.recent
            .get(buyer)
            .filter(|r| r.expires_at > now)
            .map(|r| &r.agent)
    }

    // ---- figures ----------------------------------------------------------

    pub(crate) fn day_stats(&mut self, day: Day, agent: &AgentId) -> &mut AgentDay {
        self.fx.changed.push(RecordKey::Stats(day, agent.clone()));
        self.stats
            .entry(day)
            .or_default()
            .entry(agent.clone())
            .or_default()
    }

    /// The day whose figures a conversation's clock counts in: the day it was
    /// assigned, so that a conversation taken at 23:59 and answered late
    /// after midnight is late on the day it was counted. Only today's and
    /// yesterday's figures are kept; older days are left alone.
    fn figures_day(&self, assigned_day: Option<Day>, now: Millis) -> Option<Day> {
        let today = self.today(now);
        assigned_day.filter(|&d| d == today || d == today - 1)
    }

    /// Counts a conversation received; a buyer new to the agent today is a
    /// reception, recorded once as its own (day, agent, buyer) record, so
    /// that no record grows with the day's volume.
    fn count_reception(&mut self, today: Day, agent: &AgentId, buyer: &BuyerId, clocked: bool) {
        let by_agent = self.received.entry(today).or_default();
        let buyers = match by_agent.get_mut(agent) {
            Some(buyers) => buyers,
            None => by_agent.entry(agent.clone()).or_default(),
        };
        let new_buyer = !buyers.contains(buyer) && buyers.insert(buyer.clone());
        if new_buyer {
            self.fx
                .changed
                .push(RecordKey::Reception(today, agent.clone(), buyer.clone()));
        }
        let day = self.day_stats(today, agent);
        day.receptions += u32::from(new_buyer);
        day.sessions += 1;
        if clocked {
            day.clocked += 1;
        }
    }

    // ---- timers -----------------------------------------------------------

    fn fire_timers<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) {
        let mut capacity_freed = false;
        while let Some((at, timer)) = self.d.timers.pop_due(now) {
            capacity_freed |= self.fire(at, timer);
        }
        while let Some((at, buyer)) = self.d.recent_expiry.pop_due(now) {
            // An expiry the mapping was refreshed past is left behind.
            if self.recent.get(&buyer).is_some_and(|r| r.expires_at == at) {
                self.recent.remove(&buyer);
                self.fx.changed.push(RecordKey::Recent(buyer));
            }
        }
        while let Some(&(at, _)) = self.d.order_expiry.first() {
            if at > now {
                break;
            }
            let (_, order) = self.d.order_expiry.pop_first().expect("first entry");
            if let Some(rec) = self.orders.remove(&order) {
                if self.d.last_order_at.get(&rec.buyer_id) == Some(&rec.at) {
                    self.d.last_order_at.remove(&rec.buyer_id);
                }
                self.fx.changed.push(RecordKey::Order(order));
            }
        }
        let today = self.today(now);
        // Today's and yesterday's figures are kept: the ranking compares them.
        for (day, figures) in days_before(&mut self.stats, today - 1) {
            for agent in figures.into_keys() {
                self.fx.changed.push(RecordKey::Stats(day, agent));
            }
        }
        for (day, by_agent) in days_before(&mut self.received, today - 1) {
            for (agent, buyers) in by_agent {
                for buyer in buyers {
                    self.fx
                        .changed
                        .push(RecordKey::Reception(day, agent.clone(), buyer));
                }
            }
        }
        if capacity_freed {
            self.drain(now, rng);
        }
    }

    /// Fires one timer; true when it freed an agent's slot.
    fn fire(&mut self, at: Millis, timer: Timer) -> bool {
        let timers = self.settings.timers.clone();
        match timer {
            Timer::Late(id) => {
                let Some(c) = self.conversations.get(&id) else {
                    return false;
                };
                let due = c
                    .clock
                    .running_since
                    .is_some_and(|s| timers.late_at(s) <= at);
                if c.status == ConversationStatus::Active && due && !c.clock.late {
                    let day = self.figures_day(c.assigned_day, at);
                    let agent = c.agent.clone().expect("active");
                    self.conv_mut(id).clock.late = true;
                    if let Some(day) = day {
                        self.day_stats(day, &agent).late += 1;
                    }
                }
                false
            }
            Timer::AutoEnd(id) => {
                let Some(c) = self.conversations.get(&id) else {
                    return false;
                };
                let due = c
                    .last_agent_reply_at
                    .is_some_and(|t| t + timers.auto_end_secs as i64 * 1000 <= at);
                if c.status == ConversationStatus::Active && due && !c.clock.is_running() {
                    self.finish(id, EndReason::AutoEnd, at);
                    return true;
                }
                false
            }
            Timer::Purge(id) => {
                let Some(c) = self.conversations.get(&id) else {
                    return false;
                };
                let due = c.ended_at.is_some_and(|t| timers.purge_at(t) <= at);
                if !c.status.is_open() && due {
                    let buyer = c.inquiry.buyer_id.clone();
                    if self.d.last_by_buyer.get(&buyer) == Some(&id) {
                        self.d.last_by_buyer.remove(&buyer);
                    }
                    self.conversations.remove(&id);
                    self.fx.changed.push(RecordKey::Conversation(id));
                }
                false
            }
        }
    }

    /// Agents of a group, if it exists.
    pub fn group(&self, id: &GroupId) -> Option<&BTreeSet<AgentId>> {
        self.groups.get(id)
    }

    /// Every group with its members.
    pub fn groups(&self) -> &BTreeMap<GroupId, BTreeSet<AgentId>> {
        &self.groups
    }

    pub(crate) fn group_pool(&self, id: &GroupId) -> Option<&Pool> {
        self.d.group_pools.get(id)
    }

    /// The active conversations of an agent, oldest first.
    pub fn active_conversations_of(&self, agent: &AgentId) -> Vec<ConversationId> {
        let mut active = self
            .slot(agent)
            .and_then(|s| self.d.active_by_slot.get(s as usize))
            .cloned()
            .unwrap_or_default();
        active.sort_unstable();
        active
    }

    /// Agents that took part in the decision, as the explanation lists them.
    pub(crate) fn considered(&self, a: &Agent, today: Day, verdict: Verdict) -> Considered {
        Considered {
            agent_id: a.id.clone(),
            status: a.status,
            load: a.load,
            max_load: a.max_load.get(),
            assigned_today: a.assigned_on(today),
            effective_weight: a.effective_weight(self.settings.busy_threshold),
            verdict,
        }
    }

    /// The verdict of an agent outside any pick.
    pub(crate) fn plain_verdict(a: &Agent) -> Verdict {
        match a.status {
            AgentStatus::Offline => Verdict::Offline,
            AgentStatus::Busy => Verdict::Busy,
            AgentStatus::Online if a.load >= a.max_load.get() => Verdict::Saturated,
            AgentStatus::Online => Verdict::Eligible,
        }
    }

    /// A set of slots, deduplicated.
    pub(crate) fn dedup(slots: Vec<Slot>) -> Vec<Slot> {
        let mut seen = HashSet::with_capacity(slots.len());
        slots.into_iter().filter(|s| seen.insert(*s)).collect()
    }
}

/// Takes the entries of the days before `keep_from` out of `by_day`.
fn days_before<V>(by_day: &mut BTreeMap<Day, V>, keep_from: Day) -> BTreeMap<Day, V> {
    let kept = by_day.split_off(&keep_from);
    std::mem::replace(by_day, kept)
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;

    const T0: Millis = 1_795_399_200_000;

    fn run(shop: &mut Shop, cmd: Command, now: Millis, rng: &mut SmallRng) -> Reply {
        shop.handle(cmd, now, rng).expect("accepted").0
    }

    #[test]
    fn refreshed_recent_contacts_leave_a_bounded_number_of_expiries_behind() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut shop = Shop::new(ShopId::parse("s").unwrap());
        let a = AgentId::parse("a").unwrap();
        let b = BuyerId::parse("b").unwrap();
        let upsert = Command::UpsertAgent {
            agent: a.clone(),
            display_name: None,
            weight: None,
            groups: None,
        };
        run(&mut shop, upsert, T0, &mut rng);
        run(
            &mut shop,
            Command::SetStatus(a.clone(), AgentStatus::Online),
            T0,
            &mut rng,
        );
        let inquiry = Inquiry {
            buyer_id: b.clone(),
            entry: Entry::Other,
            question: None,
            order_state: None,
            product_id: None,
            intent: None,
        };
        let Reply::Conversation { id, .. } =
            run(&mut shop, Command::Inquire(inquiry), T0, &mut rng)
        else {
            panic!("an inquiry answers with a conversation");
        };

        // Every message refreshes the one mapping, 10 seconds apart.
        let mut now = T0;
        for i in 0..5 * RECENT_EXPIRY_SLACK {
            now += 10_000;
            let from = if i % 2 == 0 {
                Party::Buyer
            } else {
                Party::Agent
            };
            run(&mut shop, Command::Message(id, from), now, &mut rng);
            assert!(shop.d.recent_expiry.len() <= 2 * shop.recent.len() + RECENT_EXPIRY_SLACK + 1);
        }

        // The mapping still lapses a window after the last refresh, not before.
        let window = shop.settings.recent_contact.window_secs as i64 * 1000;
        run(
            &mut shop,
            Command::End(id, EndReason::Service),
            now,
            &mut rng,
        );
        let last_refresh = now;
        shop.tick(last_refresh + window - 1, &mut rng);
        assert_eq!(shop.recent_agent(&b, last_refresh + window - 1), Some(&a));
        assert!(shop.recent.contains_key(&b));
        let fx = shop.tick(last_refresh + window, &mut rng);
        assert!(!shop.recent.contains_key(&b));
        assert!(fx.changed.contains(&RecordKey::Recent(b)));
    }
}
