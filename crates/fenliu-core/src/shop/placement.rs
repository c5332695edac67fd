//! Where each conversation is (排队与分配): the one owner of an agent's load
//! and unreplied count, of the active conversations of each agent, of the
//! buyers' open and last-assigned conversations, and of the queue.
//!
//! A conversation is created queued ([`Shop::new_conversation`]), given to
//! an agent ([`Shop::assign`], `seat`), put in the queue ([`Shop::enqueue`],
//! [`Shop::requeue_at_front`]), taken from its agent ([`Shop::release`]) and
//! closed ([`Shop::close`]); the drain places queued conversations whenever
//! capacity appears. Reads of the queue are here too.

use rand::Rng;

use super::routing::Memo;
use super::Shop;
use crate::conversation::{Conversation, ConversationStatus, ReplyClock};
use crate::effects::Event;
use crate::explain::QueuePriority;
use crate::explain::{Explanation, Reason};
use crate::ids::{AgentId, BuyerId, ConversationId, IdMap};
use crate::index::Slot;
use crate::inquiry::{Inquiry, Priority};
use crate::lazy::Lazy;
use crate::queue::{Entry, Order, Place};
use crate::records::RecordKey;
use crate::settings::QueueOrder;
use crate::time::{Day, Millis};

impl Shop {
    /// The buyer's queued or active conversation.
    pub fn open_conversation_of(&self, buyer: &BuyerId) -> Option<ConversationId> {
        self.d.open_by_buyer.get(buyer).copied()
    }

    /// A new queued conversation for the inquiry, the buyer's open one; the
    /// caller assigns or enqueues it.
    pub(super) fn new_conversation(
        &mut self,
        inquiry: Inquiry,
        priority: Priority,
        now: Millis,
    ) -> ConversationId {
        let meta = self.meta_mut();
        meta.next_conversation += 1;
        let id = ConversationId(meta.next_conversation);
        self.fx.changed.push(RecordKey::Conversation(id));
        self.d.open_by_buyer.insert(inquiry.buyer_id.clone(), id);
        let strategy = self.settings.strategy;
        self.conversations.insert(
            id,
            Box::new(Conversation {
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
                priority,
                queued_since: None,
                offer: None,
                excluded: Vec::new(),
                first_reply_at: None,
            }),
        );
        id
    }

    /// Gives a conversation to the agent in `slot`, starting its reply
    /// clock, and announces the assignment.
    pub(super) fn assign(
        &mut self,
        id: ConversationId,
        slot: Slot,
        reason: Reason,
        offline: bool,
        explanation: Explanation,
        now: Millis,
    ) {
        let (buyer, agent_id) = self.give(id, slot, reason, offline, explanation, now);
        self.fx.events.push(Event::Assigned {
            conversation_id: id,
            buyer_id: buyer,
            agent_id,
            reason,
            offline_delivery: offline,
        });
    }

    /// Gives a conversation (queued, new or just released) to the agent in
    /// `slot`, starting its reply clock; the caller announces it (an
    /// assignment or a transfer). Answers the buyer and the agent.
    pub(super) fn give(
        &mut self,
        id: ConversationId,
        slot: Slot,
        reason: Reason,
        offline: bool,
        explanation: Explanation,
        now: Millis,
    ) -> (BuyerId, AgentId) {
        let agent_id = self.agent_at(slot).expect("live").id.clone();
        self.leave_queue(id, now);
        let c = self.conv_mut(id);
        c.agent = Some(agent_id);
        c.reason = reason;
        c.offline_delivery = offline;
        c.explanation = explanation;
        self.activate(id, slot, false, now)
    }

    /// A queued conversation leaves the queue to be placed (given or
    /// offered); its wait ends. Nothing happens to one that is not queued.
    pub(super) fn leave_queue(&mut self, id: ConversationId, now: Millis) {
        let c = &self.conversations[&id];
        if c.queue_key.is_none() {
            return;
        }
        let c = self.conv_mut(id);
        let key = c.queue_key.take().expect("queued");
        c.queued_since = None;
        let (priority, created) = (c.priority, c.created_at);
        self.d.queue.remove(priority, key);
        self.count_placement(created, now);
    }

    /// The conversation, with its agent (in `slot`) set, becomes active:
    /// its reply clock starts and so do its deadlines. `held`: the agent
    /// already holds its slot (an accepted offer).
    pub(super) fn activate(
        &mut self,
        id: ConversationId,
        slot: Slot,
        held: bool,
        now: Millis,
    ) -> (BuyerId, AgentId) {
        let today = self.today(now);
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Active;
        c.assigned_at = Some(now);
        c.assigned_day = Some(today);
        c.first_reply_at = None;
        c.clock = ReplyClock {
            running_since: Some(now),
            ever_ran: true,
            late: false,
        };
        let buyer = c.inquiry.buyer_id.clone();
        let agent_id = c.agent.clone().expect("an agent was set");
        self.arm_late(id, now);
        self.arm_reassign(id, now);
        self.seat(slot, id, &buyer, &agent_id, true, held, now);
        (buyer, agent_id)
    }

    /// What every conversation given to an agent does besides its own record:
    /// the agent's load (unless `held` already by an offer) and unreplied
    /// count (if `clocked`), the day's figures, the buyer's last
    /// conversation and recent agent.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn seat(
        &mut self,
        slot: Slot,
        id: ConversationId,
        buyer: &BuyerId,
        agent: &AgentId,
        clocked: bool,
        held: bool,
        now: Millis,
    ) {
        let today = self.today(now);
        self.take_on(slot, (!held).then_some(id), today, clocked);
        self.count_reception(today, agent, buyer, clocked);
        self.d.last_by_buyer.insert(buyer.clone(), id);
        self.refresh_recent(buyer, agent, now);
    }

    /// The agent in `slot` holds a slot for `id`, offered to them.
    pub(super) fn hold(&mut self, slot: Slot, id: ConversationId) {
        self.active_of_slot(slot).push(id);
        self.agent_mut(slot).load += 1;
        self.reindex(slot);
    }

    /// One more conversation for the agent in `slot`: `new` takes a slot of
    /// its load (one held by an offer does not).
    fn take_on(
        &mut self,
        slot: Slot,
        new: Option<ConversationId>,
        today: Day,
        clock_running: bool,
    ) {
        if let Some(id) = new {
            self.active_of_slot(slot).push(id);
        }
        let agent = self.agent_mut(slot);
        agent.load += u32::from(new.is_some());
        if agent.assigned_day != today {
            agent.assigned_day = today;
            agent.assigned_count = 0;
        }
        agent.assigned_count += 1;
        if clock_running {
            agent.unreplied += 1;
        }
        self.reindex(slot);
    }

    /// The reply clock of one of the conversations of the agent in `slot`
    /// started again (a buyer message): one more unreplied.
    pub(super) fn clock_started(&mut self, slot: Slot) {
        self.agent_mut(slot).unreplied += 1;
        self.reindex(slot);
    }

    /// The reply clock of one of the conversations of the agent in `slot`
    /// stopped (the agent replied): one fewer unreplied.
    pub(super) fn clock_stopped(&mut self, slot: Slot) {
        let a = self.agent_mut(slot);
        a.unreplied = a.unreplied.saturating_sub(1);
        self.reindex(slot);
    }

    /// A new slot was handed out: the lists kept by slot grow with it.
    pub(super) fn placement_slot_added(&mut self) {
        self.d.active_by_slot.push(Vec::new());
    }

    /// The active conversations of the agent in `slot`.
    fn active_of_slot(&mut self, slot: Slot) -> &mut Vec<ConversationId> {
        &mut self.d.active_by_slot[slot as usize]
    }

    /// The conversation leaves its agent (end, transfer, agent deleted).
    pub(super) fn release(&mut self, id: ConversationId) {
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
        self.reindex(slot);
    }

    /// The conversation of `buyer`, `id`, is no longer open (ended or
    /// cancelled); a queued one also leaves the queue.
    pub(super) fn close(&mut self, id: ConversationId, buyer: &BuyerId, queue_key: Option<i64>) {
        if let Some(key) = queue_key {
            let priority = self.conversations[&id].priority;
            self.d.queue.remove(priority, key);
        }
        debug_assert_eq!(self.d.open_by_buyer.get(buyer), Some(&id));
        self.d.open_by_buyer.remove(buyer);
    }

    /// The closed conversation `id` of `buyer` is forgotten: it no longer
    /// credits the buyer's orders.
    pub(super) fn forget(&mut self, id: ConversationId, buyer: &BuyerId) {
        if self.d.last_by_buyer.get(buyer) == Some(&id) {
            self.d.last_by_buyer.remove(buyer);
        }
    }

    /// The buyer's conversation assigned last, if not forgotten.
    pub(super) fn last_assigned_of(&self, buyer: &BuyerId) -> Option<&Conversation> {
        self.d
            .last_by_buyer
            .get(buyer)
            .and_then(|id| self.conversation(*id))
    }

    /// Puts a conversation in the queue, at the back of its priority (or at
    /// the front, which in a FIFO queue is served first), and announces its
    /// position.
    pub(super) fn enqueue(
        &mut self,
        id: ConversationId,
        at_front: bool,
        explanation: Explanation,
        now: Millis,
    ) {
        let fifo = self.settings.queue.order == QueueOrder::Fifo;
        let priority = self.conversations[&id].priority;
        let front = at_front && fifo;
        let key = self.next_queue_key(front);
        let entry = Entry {
            key,
            since: now,
            id,
        };
        let entry = if front {
            self.d.queue.push_front(priority, entry)
        } else {
            self.d.queue.push_back(priority, entry)
        };
        self.queued(id, entry, explanation, now);
    }

    /// A new key at the back of the queue (or, `front`, at its front).
    pub(super) fn next_queue_key(&mut self, front: bool) -> i64 {
        let meta = self.meta_mut();
        if front {
            meta.queue_front -= 1;
            meta.queue_front
        } else {
            meta.queue_back += 1;
            meta.queue_back
        }
    }

    /// Puts a conversation nobody took back in the queue at the place
    /// (key, and since when it waits) it had, and announces its position.
    pub(super) fn enqueue_at(
        &mut self,
        id: ConversationId,
        (key, since): (i64, Millis),
        explanation: Explanation,
        now: Millis,
    ) {
        let priority = self.conversations[&id].priority;
        let entry = self.d.queue.put_back(priority, Entry { key, since, id });
        self.queued(id, entry, explanation, now);
    }

    /// The conversation of `entry`, just put in the queue, is queued.
    fn queued(
        &mut self,
        id: ConversationId,
        entry: Entry,
        mut explanation: Explanation,
        now: Millis,
    ) {
        let (key, priority) = (entry.key, self.conversations[&id].priority);
        let order = self.queue_order(now);
        let place = order.place(priority, key, entry.since);
        let position = self.d.queue.position(place, entry.since, &order) as u32;
        explanation.priority = self.shown_priority(priority, place);
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Queued;
        c.reason = Reason::Queued;
        c.queue_key = Some(key);
        c.queued_since = Some(entry.since);
        c.explanation = explanation;
        let buyer = c.inquiry.buyer_id.clone();
        self.arm_escalation(id, now);
        self.arm_opening(now);
        self.fx.events.push(Event::Queued {
            conversation_id: id,
            buyer_id: buyer,
            position,
        });
    }

    /// Takes a released conversation from its agent back to the front of
    /// the queue (its agent was deleted).
    pub(super) fn requeue_at_front(&mut self, id: ConversationId, now: Millis) {
        let strategy = self.settings.strategy;
        let c = self.conv_mut(id);
        let from = c.agent.take();
        c.assigned_at = None;
        c.assigned_day = None;
        c.clock = ReplyClock::default();
        c.offline_delivery = false;
        let buyer = c.inquiry.buyer_id.clone();
        let created = c.created_at;
        self.count_requeue(created, now);
        if let Some(from_agent_id) = from {
            // Tell the agent's own stream its conversation was taken away.
            self.fx.events.push(Event::Requeued {
                conversation_id: id,
                buyer_id: buyer.clone(),
                from_agent_id,
            });
        }
        self.enqueue(
            id,
            true,
            Explanation::new(now, Reason::Queued, strategy),
            now,
        );
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

    /// Places queued conversations, in queue order, while any can be placed.
    ///
    /// Capacity only shrinks during a drain, so one pass in order is enough: a
    /// conversation that could not be placed cannot become placeable later in
    /// the same pass.
    pub(super) fn drain<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) {
        if self.d.queue.is_empty() {
            return;
        }
        // Closed (business hours): the queue waits for the opening, when
        // the capacity that appeared now is still there.
        if !self.settings.is_open(now) {
            self.arm_opening(now);
            return;
        }
        self.ensure_day(now);
        let order = self.queue_order(now);
        let mut memo = Memo::default();
        let mut cursor: Option<Place> = None;
        while self.shop_pool().available() > 0 {
            let Some((place, entry)) = self.d.queue.next_after(cursor, &order) else {
                break;
            };
            cursor = Some(place);
            self.place_queued(entry.id, now, rng, &mut memo);
        }
    }

    /// How the queue is ordered at `now`.
    pub(super) fn queue_order(&self, now: Millis) -> Order {
        Order {
            lifo: self.settings.queue.order == QueueOrder::Lifo,
            aging: self.settings.queue.aging_ms(),
            now,
        }
    }

    /// The priority an explanation shows: only when the shop uses
    /// priorities (a priority above 0, or aging).
    pub(super) fn shown_priority(&self, base: Priority, place: Place) -> Option<QueuePriority> {
        let effective = Priority::new(u32::from(place.priority)).unwrap_or(Priority::MAX);
        (base > Priority::default() || effective > base || self.settings.queue.aging_secs.is_some())
            .then_some(QueuePriority { base, effective })
    }

    /// Decides one queued conversation again, as the drain does, and assigns
    /// it if an agent of its target set is available.
    /// A queued buyer's recent agent changed without any capacity appearing
    /// (the agent wrote to the buyer's ended conversation): the buyer's queued
    /// conversation, if any, is decided again, since recent contact may now
    /// place it. The rest of the queue cannot gain from this.
    pub(super) fn recent_contact_changed<R: Rng + ?Sized>(
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

    pub(super) fn place_queued<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        now: Millis,
        rng: &mut R,
        memo: &mut Memo,
    ) {
        let c = &self.conversations[&id];
        let (inquiry, since) = (c.inquiry.clone(), c.queued_since.unwrap_or(c.created_at));
        let (priority, key) = (c.priority, c.queue_key.unwrap_or_default());
        let excluded = self.excluded_slots(c);
        let routed = self.route(&inquiry, Some(since), excluded, now, rng, memo);
        if let Some(pick) = routed.pick {
            let mut explanation = self.explain_routed(&routed, now);
            let place = self.queue_order(now).place(priority, key, since);
            explanation.priority = self.shown_priority(priority, place);
            self.give_or_offer(id, pick, explanation, Some((key, since)), true, now);
        }
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

    /// Number of active conversations.
    pub fn active_count(&self) -> usize {
        self.d.open_by_buyer.len() - self.d.queue.len()
    }

    /// The 1-based position at `now` of a queued conversation, counted from
    /// the next to be served.
    pub fn position(&self, id: ConversationId, now: Millis) -> Option<u32> {
        let c = self.conversations.get(&id)?;
        let key = c.queue_key?;
        let order = self.queue_order(now);
        let since = c.queued_since.unwrap_or(c.created_at);
        let place = order.place(c.priority, key, since);
        Some(self.d.queue.position(place, since, &order) as u32)
    }

    /// The priority a queued conversation is ordered by at `now` (its own,
    /// raised by aging).
    pub fn queue_priority(&self, c: &Conversation, now: Millis) -> Priority {
        let since = c.queued_since.unwrap_or(c.created_at);
        self.queue_order(now).priority(c.priority, since)
    }

    /// Queued conversations in the order they will be served at `now`.
    pub fn queue(&self, now: Millis) -> Vec<&Conversation> {
        self.queue_page(0, self.d.queue.len(), now)
    }

    /// At most `limit` queued conversations in the order they will be served
    /// at `now`, from the one at 0-based position `offset` on.
    pub fn queue_page(&self, offset: usize, limit: usize, now: Millis) -> Vec<&Conversation> {
        let order = self.queue_order(now);
        self.d
            .queue
            .page(offset, limit, &order)
            .iter()
            .map(|(_, e)| &*self.conversations[&e.id])
            .collect()
    }

    /// Number of queued conversations.
    pub fn queue_len(&self) -> usize {
        self.d.queue.len()
    }

    /// Derives, from the conversations' records, the queue, the buyers'
    /// open and last-assigned conversations and each agent's active ones:
    /// after a restore, once every agent has its slot.
    pub(super) fn rebuild_placement(&mut self) {
        let mut last: IdMap<BuyerId, (Millis, ConversationId)> = IdMap::default();
        let mut queued: Vec<(i64, Priority, Millis, ConversationId)> = Vec::new();
        self.d.active_by_slot = vec![Vec::new(); self.agents.len()];
        for c in self.conversations.values() {
            let buyer = &c.inquiry.buyer_id;
            match c.status {
                ConversationStatus::Queued => {
                    if let Some(k) = c.queue_key {
                        let since = c.queued_since.unwrap_or(c.created_at);
                        queued.push((k, c.priority, since, c.id));
                    }
                    self.d.open_by_buyer.insert(buyer.clone(), c.id);
                }
                ConversationStatus::Active | ConversationStatus::Offered => {
                    self.d.open_by_buyer.insert(buyer.clone(), c.id);
                    if let Some(slot) = c.agent.as_ref().and_then(|a| self.slot(a)) {
                        self.d.active_by_slot[slot as usize].push(c.id);
                    }
                }
                ConversationStatus::Ended | ConversationStatus::Cancelled => {}
            }
            if let Some(at) = c.assigned_at {
                let e = last.entry(buyer.clone()).or_insert((at, c.id));
                if (at, c.id) > *e {
                    *e = (at, c.id);
                }
            }
        }
        let last: IdMap<BuyerId, ConversationId> =
            last.into_iter().map(|(b, (_, c))| (b, c)).collect();
        let none = last.is_empty();
        self.d.last_by_buyer = Lazy::of(last, none);
        // By key, so that each level's `since` never decreases with the key:
        // records written before `queued_since` existed count from their
        // creation, which a conversation put back at the front may break.
        // Taken from the highest key down, each counts as waiting at least as
        // long as the ones after it.
        queued.sort_unstable();
        for (key, priority, since, id) in queued.into_iter().rev() {
            let e = self.d.queue.push_front(priority, Entry { key, since, id });
            if e.since != since {
                if let Some(c) = self.conversations.get_mut(&id) {
                    c.queued_since = Some(e.since);
                }
            }
        }
    }
}
