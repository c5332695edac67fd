//! The invariants of a shop: what holds after every command and every tick,
//! whatever came before. [`Shop::check`] tests them against the records,
//! with plain scans rather than the indexes they are meant to agree with; in
//! debug builds every command and tick runs it (see [`Shop::debug_check`]),
//! and the property tests call it after every step.

use std::collections::HashMap;

use super::Shop;
use crate::agent::AgentStatus;
use crate::conversation::{Conversation, ConversationStatus};
use crate::explain::Reason;
use crate::ids::{AgentId, BuyerId, ConversationId};
use crate::settings::{Overflow, QueueOrder};
use crate::time::Millis;

/// Above this much work ([`Shop::check_cost`]) the check after every command
/// of a debug build is skipped: it is linear in the shop (and in queue ×
/// agents for the waiting rule), which is nothing for the shops of the unit
/// and property tests but would make the large shops of some tests quadratic.
/// Benchmarks run in release builds, without it. [`Shop::check`] itself, as
/// the property tests call it, always runs in full.
const DEBUG_CHECK_MAX_COST: usize = 20_000;

impl Shop {
    /// Checks every invariant; the error says which one broke, and where.
    ///
    /// - Each agent's load, unreplied count and active conversations are
    ///   those of the active conversations that name it, and no active
    ///   conversation names a deleted agent.
    /// - A buyer has at most one open (queued or active) conversation, and
    ///   it is the one `open_conversation_of` answers; no other is recorded
    ///   as open.
    /// - An offered conversation holds one slot of its agent, who has not
    ///   declined it, and has no queue key nor a running clock.
    /// - Queued conversations have a queue key and a stopped clock; others
    ///   have no key; ended and cancelled ones have an end time; only an
    ///   offline-routed conversation is an offline delivery.
    /// - The queue is exactly the queued conversations, at positions 1..=n
    ///   in the order they are served.
    /// - Nobody waits while an agent of their target set is available (spec
    ///   section 2, "Queue"), decided here as the spec words it: recent
    ///   contact, the first matching rule, overflow.
    /// - Every agent is in the shop-wide pool, by its slot.
    pub fn check(&self, now: Millis) -> Result<(), String> {
        self.check_agents_index()?;
        self.check_conversations()?;
        self.check_queue(now)?;
        self.check_nobody_waits(now)
    }

    /// Runs [`Shop::check`] in debug builds, on shops small enough (see
    /// [`DEBUG_CHECK_MAX_COST`]), and panics with the broken invariant.
    pub(super) fn debug_check(&self, now: Millis) {
        if cfg!(debug_assertions) && self.check_cost() <= DEBUG_CHECK_MAX_COST {
            if let Err(broken) = self.check(now) {
                panic!("shop {} broke an invariant: {broken}", self.id);
            }
        }
    }

    /// A measure of the work [`Shop::check`] does.
    fn check_cost(&self) -> usize {
        self.conversations.len() + self.agent_count() * (1 + self.queue_len())
    }

    fn check_agents_index(&self) -> Result<(), String> {
        let live = self.agents.iter().flatten().count();
        if live != self.agent_count() || self.d.pool.len() != live {
            return Err(format!(
                "{live} live agents, {} by id, {} in the shop's pool",
                self.agent_count(),
                self.d.pool.len()
            ));
        }
        for (id, &slot) in &self.d.by_id {
            if self.agent_at(slot).map(|a| &a.id) != Some(id) || !self.d.pool.contains(slot) {
                return Err(format!("agent {id} is not where its slot {slot} says"));
            }
        }
        Ok(())
    }

    fn check_conversations(&self) -> Result<(), String> {
        let mut load: HashMap<&AgentId, (u32, u32, Vec<ConversationId>)> = HashMap::new();
        let mut open: HashMap<&BuyerId, ConversationId> = HashMap::new();
        for c in self.conversations.values() {
            let id = c.id;
            match c.status {
                ConversationStatus::Active => {
                    let agent = c
                        .agent
                        .as_ref()
                        .ok_or(format!("{id} is active with nobody"))?;
                    if self.agent(agent).is_none() {
                        return Err(format!("{id} is with a deleted agent"));
                    }
                    let (n, unreplied, active) = load.entry(agent).or_default();
                    *n += 1;
                    *unreplied += u32::from(c.clock.is_running());
                    active.push(id);
                    if c.queue_key.is_some() {
                        return Err(format!("{id} is active with a queue key"));
                    }
                    if c.offline_delivery && c.reason != Reason::Offline {
                        return Err(format!("{id} is an offline delivery by {}", c.reason));
                    }
                }
                ConversationStatus::Offered => {
                    let agent = c
                        .agent
                        .as_ref()
                        .ok_or(format!("{id} is offered to nobody"))?;
                    if self.agent(agent).is_none() {
                        return Err(format!("{id} is offered to a deleted agent"));
                    }
                    if c.offer.is_none() || c.queue_key.is_some() || c.clock.is_running() {
                        return Err(format!(
                            "{id} is offered without an offer, with a queue key or a clock"
                        ));
                    }
                    if c.excluded.contains(agent) {
                        return Err(format!("{id} is offered to {agent}, who declined it"));
                    }
                    // It holds exactly one slot of its agent's load.
                    let (n, _, active) = load.entry(agent).or_default();
                    *n += 1;
                    active.push(id);
                }
                ConversationStatus::Queued => {
                    if c.queue_key.is_none() || c.clock.is_running() {
                        return Err(format!("{id} is queued without a key or with a clock"));
                    }
                }
                ConversationStatus::Ended | ConversationStatus::Cancelled => {
                    if c.queue_key.is_some() || c.ended_at.is_none() {
                        return Err(format!("{id} is closed with a key or no end time"));
                    }
                }
            }
            if c.offer.is_some() && c.status != ConversationStatus::Offered {
                return Err(format!("{id} has an offer but is {:?}", c.status));
            }
            if c.status.is_open() {
                if let Some(other) = open.insert(&c.inquiry.buyer_id, id) {
                    return Err(format!("{} has {other} and {id} open", c.inquiry.buyer_id));
                }
            }
        }
        for a in self.agents() {
            let (n, unreplied, mut theirs) = load.remove(&a.id).unwrap_or_default();
            theirs.sort_unstable();
            if (a.load, a.unreplied) != (n, unreplied) {
                return Err(format!(
                    "agent {} has load {} and {} unreplied, its conversations say {n} and {unreplied}",
                    a.id, a.load, a.unreplied
                ));
            }
            if self.active_conversations_of(&a.id) != theirs {
                return Err(format!("the active conversations of {} drifted", a.id));
            }
        }
        if self.d.open_by_buyer.len() != open.len() {
            return Err(format!(
                "{} buyers recorded with an open conversation, {} have one",
                self.d.open_by_buyer.len(),
                open.len()
            ));
        }
        for (buyer, id) in open {
            if self.open_conversation_of(buyer) != Some(id) {
                return Err(format!("the open conversation of {buyer} is not {id}"));
            }
        }
        Ok(())
    }

    fn check_queue(&self, now: Millis) -> Result<(), String> {
        let queued = self
            .conversations
            .values()
            .filter(|c| c.status == ConversationStatus::Queued)
            .count();
        if self.queue_len() != queued {
            return Err(format!(
                "{} in the queue, {queued} queued",
                self.queue_len()
            ));
        }
        let served = self.queue(now);
        for (i, c) in served.iter().enumerate() {
            if c.status != ConversationStatus::Queued {
                return Err(format!("{} is in the queue but not queued", c.id));
            }
            if self.position(c.id, now) != Some(i as u32 + 1) {
                return Err(format!(
                    "{} is served {} but has position {:?}",
                    c.id,
                    i + 1,
                    self.position(c.id, now)
                ));
            }
        }
        for pair in served.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (pa, pb) = (self.queue_priority(a, now), self.queue_priority(b, now));
            let keys = (a.queue_key, b.queue_key);
            let in_order = pa > pb
                || (pa == pb
                    && match self.settings.queue.order {
                        QueueOrder::Fifo => keys.0 < keys.1,
                        QueueOrder::Lifo => keys.0 > keys.1,
                    });
            if !in_order {
                return Err(format!(
                    "{} ({pa:?}) is served before {} ({pb:?})",
                    a.id, b.id
                ));
            }
        }
        Ok(())
    }

    fn check_nobody_waits(&self, now: Millis) -> Result<(), String> {
        for c in self.queue(now) {
            if let Some(free) = self.available_target(c, now) {
                return Err(format!("{} waits while {free} is available to it", c.id));
            }
        }
        Ok(())
    }

    /// An available agent a queued conversation could be given to, as the
    /// spec describes the decision (recent contact, rules widened by the
    /// escalation steps reached, overflow), if any.
    fn available_target(&self, c: &Conversation, now: Millis) -> Option<&AgentId> {
        let q = &c.inquiry;
        if !self.settings.is_open(now) {
            return None;
        }
        let s = &self.settings;
        let available = |id: &AgentId| {
            !c.excluded.contains(id) && self.agent(id).is_some_and(|a| a.is_available())
        };
        if s.recent_contact.enabled {
            if let Some(r) = self.recent_agent(&q.buyer_id, now) {
                if available(r) {
                    return Some(r);
                }
            }
        }
        let everyone = || self.agents().map(|a| &a.id);
        let mut target: Vec<&AgentId> = match s.matching_rule(q).map(|i| &s.rules[i]) {
            None => everyone().collect(),
            Some(r) => {
                let since = c.queued_since.unwrap_or(c.created_at);
                let steps = &r.to.escalate[..r.to.steps_reached(since, now)];
                if steps.iter().any(|s| s.any) {
                    everyone().collect()
                } else {
                    let agents =
                        r.to.agents
                            .iter()
                            .chain(steps.iter().flat_map(|s| &s.agents));
                    let groups =
                        r.to.groups
                            .iter()
                            .chain(steps.iter().flat_map(|s| &s.groups));
                    let members = groups.filter_map(|g| self.group(g)).flatten();
                    agents
                        .chain(members)
                        .filter(|a| self.agent(a).is_some())
                        .collect()
                }
            }
        };
        let online = |id: &&AgentId| {
            self.agent(id)
                .is_some_and(|a| a.status == AgentStatus::Online)
        };
        if !target.iter().any(online) && s.overflow == Overflow::AnyOnline {
            target = everyone().collect();
        }
        target.into_iter().find(|a| available(a))
    }
}
