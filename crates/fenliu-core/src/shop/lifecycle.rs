//! The life of a conversation (会话生命周期): inquiries, messages and the
//! reply clock, ends, cancels, ratings and proactive conversations.

use rand::Rng;

use super::routing::Memo;
use super::Shop;
use crate::agent::AgentStatus;
use crate::conversation::{Conversation, ConversationStatus, EndReason};
use crate::effects::{Event, Party, Reply};
use crate::error::{CoreError, CoreResult, InvalidInput};
use crate::explain::{Explanation, QueuePriority, Reason};
use crate::ids::{AgentId, BuyerId, ConversationId};
use crate::inquiry::{Entry, Inquiry, Priority};
use crate::records::RecordKey;
use crate::time::Millis;

impl Shop {
    /// A conversation by id.
    pub fn conversation(&self, id: ConversationId) -> Option<&Conversation> {
        self.conversations.get(&id).map(Box::as_ref)
    }

    /// A conversation by id, or a not-found error.
    pub(super) fn conversation_or_404(&self, id: ConversationId) -> CoreResult<&Conversation> {
        self.conversation(id)
            .ok_or_else(|| CoreError::not_found(format!("conversation {id} not found")))
    }

    /// A live conversation, to change: its record is marked changed.
    pub(super) fn conv_mut(&mut self, id: ConversationId) -> &mut Conversation {
        self.fx.changed.push(RecordKey::Conversation(id));
        self.conversations.get_mut(&id).expect("live conversation")
    }

    /// A buyer asks for a human: the existing open conversation, or a new
    /// one, assigned or queued (refused when the queue is full).
    pub(super) fn inquire<R: Rng + ?Sized>(
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
        let routed = self.route(&inquiry, None, Vec::new(), now, rng, &mut Memo::default());
        let max_length = self.settings.queue.max_length;
        let full = |m: &u32| routed.pick.is_none() && self.queue_len() >= *m as usize;
        if let Some(max) = max_length.filter(full) {
            return Err(CoreError::conflict(format!(
                "the queue is full ({max} waiting); ask again later"
            )));
        }
        let mut explanation = self.explain_routed(&routed, now);
        let rule_priority = routed.rule.and_then(|i| self.settings.rules[i].to.priority);
        let priority = inquiry.priority.max(rule_priority.unwrap_or_default());
        let id = self.new_conversation(inquiry, priority, now);
        self.count_inquiry(
            routed.pick.is_some(),
            routed.pick.is_some_and(|p| p.offline),
            now,
        );
        let reason = match routed.pick {
            Some(pick) => {
                if priority > Priority::default() {
                    explanation.priority = Some(QueuePriority {
                        base: priority,
                        effective: priority,
                    });
                }
                self.give_or_offer(id, pick, explanation, None, false, now);
                pick.reason
            }
            None => {
                self.enqueue(id, false, explanation, now);
                if routed.closed {
                    Reason::Closed
                } else {
                    Reason::Queued
                }
            }
        };
        Ok(Reply::Conversation {
            id,
            created: true,
            reason,
        })
    }

    /// A message of the buyer or the agent in a conversation.
    pub(super) fn message<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        from: Party,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        match (from, c.status) {
            (Party::Buyer, ConversationStatus::Active) => {
                self.buyer_message(id, now);
                Ok(self.same(id))
            }
            (Party::Buyer, ConversationStatus::Queued | ConversationStatus::Offered) => {
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
                if !self.settings.timers.reply_window_open(ended, now) {
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
            (Party::Agent, ConversationStatus::Offered) => Err(CoreError::conflict(
                "the conversation is offered: accept it before writing",
            )),
        }
    }

    /// The answer naming an existing conversation.
    pub(super) fn same(&self, id: ConversationId) -> Reply {
        Reply::Conversation {
            id,
            created: false,
            reason: self.conversations[&id].reason,
        }
    }

    /// The buyer writes in an active conversation: its reply clock starts
    /// if it was stopped.
    fn buyer_message(&mut self, id: ConversationId, now: Millis) {
        let figures_day = self.figures_day(self.conversations[&id].assigned_day, now);
        let c = self.conv_mut(id);
        c.last_buyer_message_at = Some(now);
        let buyer = c.inquiry.buyer_id.clone();
        let agent = c.agent.clone().expect("active conversation has an agent");
        let started = !c.clock.is_running();
        let first_run = !c.clock.ever_ran;
        if started {
            c.clock.running_since = Some(now);
            c.clock.ever_ran = true;
            self.arm_late(id, now);
            if let Some(slot) = self.slot(&agent) {
                self.clock_started(slot);
            }
            if let Some(day) = figures_day.filter(|_| first_run) {
                self.day_stats(day, &agent).clocked += 1;
            }
        }
        self.refresh_recent(&buyer, &agent, now);
    }

    /// The agent writes in an active conversation: its reply clock stops
    /// (late if past the target) and the auto-end timer is armed.
    fn agent_message(&mut self, id: ConversationId, now: Millis) {
        let figures_day = self.figures_day(self.conversations[&id].assigned_day, now);
        let timers = &self.settings.timers;
        let late_at = self.conversations[&id]
            .clock
            .running_since
            .map(|since| timers.late_at(since));
        let c = self.conv_mut(id);
        c.last_agent_reply_at = Some(now);
        let first_reply = c.first_reply_at.is_none();
        c.first_reply_at.get_or_insert(now);
        let buyer = c.inquiry.buyer_id.clone();
        let agent = c.agent.clone().expect("active conversation has an agent");
        if let Some(late_at) = late_at {
            c.clock.running_since = None;
            let newly_late = !c.clock.late && now >= late_at;
            if newly_late {
                c.clock.late = true;
            }
            if let Some(day) = figures_day.filter(|_| newly_late) {
                self.day_stats(day, &agent).late += 1;
            }
            if let Some(slot) = self.slot(&agent) {
                self.clock_stopped(slot);
            }
        }
        if first_reply {
            if let Some(slot) = self.slot(&agent) {
                self.reset_misses(slot);
            }
        }
        self.arm_auto_end(id, now);
        self.refresh_recent(&buyer, &agent, now);
    }

    /// Ends an active conversation (an ended one answers as it is).
    pub(super) fn end<R: Rng + ?Sized>(
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
            ConversationStatus::Queued
            | ConversationStatus::Offered
            | ConversationStatus::Cancelled => {
                return Err(CoreError::conflict(
                    "only an active conversation can be ended; cancel a queued one",
                ))
            }
        }
        self.finish(id, why, now);
        self.drain(now, rng);
        Ok(self.same(id))
    }

    /// Ends an active conversation at `at`, freeing its agent's slot; the
    /// caller drains the queue.
    pub(super) fn finish(&mut self, id: ConversationId, why: EndReason, at: Millis) {
        self.release(id);
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Ended;
        c.ended_at = Some(at);
        c.end_reason = Some(why);
        c.clock.running_since = None;
        let agent_id = c.agent.clone();
        let buyer = c.inquiry.buyer_id.clone();
        let assigned = c.assigned_at;
        self.close(id, &buyer, None);
        self.count_end(assigned, at);
        self.arm_purge(id, at);
        self.fx.events.push(Event::Ended {
            conversation_id: id,
            agent_id,
            end_reason: why,
        });
    }

    /// A queued (or offered) conversation leaves the queue: the buyer left
    /// (a cancelled one answers as it is).
    pub(super) fn cancel<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        let offered = match c.status {
            ConversationStatus::Queued => false,
            ConversationStatus::Offered => true,
            ConversationStatus::Cancelled => return Ok(self.same(id)),
            ConversationStatus::Active | ConversationStatus::Ended => {
                return Err(CoreError::conflict(
                    "only a queued or offered conversation can be cancelled",
                ))
            }
        };
        if offered {
            // The agent's slot is freed; the queue drains into it below.
            self.release(id);
        }
        let c = self.conv_mut(id);
        let key = c.queue_key.take();
        c.offer = None;
        c.status = ConversationStatus::Cancelled;
        c.ended_at = Some(now);
        let buyer = c.inquiry.buyer_id.clone();
        let created = c.created_at;
        self.close(id, &buyer, key);
        self.count_cancel(created, now);
        self.arm_purge(id, now);
        self.fx.events.push(Event::Cancelled {
            conversation_id: id,
            buyer_id: buyer,
        });
        if offered {
            self.drain(now, rng);
        }
        Ok(self.same(id))
    }

    /// Whether the conversation is active or within its reply window: when
    /// ratings are accepted and an order credits its agent.
    pub(super) fn within_reply_window(&self, c: &Conversation, now: Millis) -> bool {
        let timers = &self.settings.timers;
        match c.status {
            ConversationStatus::Active => true,
            ConversationStatus::Ended => {
                c.ended_at.is_some_and(|t| timers.reply_window_open(t, now))
            }
            ConversationStatus::Queued
            | ConversationStatus::Offered
            | ConversationStatus::Cancelled => false,
        }
    }

    /// The agent invites a rating, once.
    pub(super) fn invite_rating(&mut self, id: ConversationId, now: Millis) -> CoreResult<Reply> {
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

    /// The buyer rates, once.
    pub(super) fn rate(&mut self, id: ConversationId, stars: u8, now: Millis) -> CoreResult<Reply> {
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

    /// An agent opens a conversation with a buyer who ordered recently; its
    /// clock starts stopped (the agent speaks first).
    pub(super) fn open_proactive(
        &mut self,
        agent: &AgentId,
        buyer: BuyerId,
        now: Millis,
    ) -> CoreResult<Reply> {
        let slot = self.slot_or_404(agent)?;
        if self.agent_at(slot).expect("live").status == AgentStatus::Offline {
            return Err(CoreError::conflict(
                "an offline agent cannot open a conversation",
            ));
        }
        if !self.ordered_recently(&buyer, now) {
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
            priority: Default::default(),
        };
        let id = self.new_conversation(inquiry, Priority::default(), now);
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
        self.seat(slot, id, &buyer, agent, false, false, now);
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
}
