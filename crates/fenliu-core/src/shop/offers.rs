//! Offers (spec section 9): with `assignment.mode: offer`, a decision that
//! picks an agent offers them the conversation. The agent holds a slot for
//! it (it counts toward their load) until they accept it, when it becomes
//! active with its reply clock started, or reject it, or the offer lapses,
//! or they go offline; then it is decided again at once, never again for an
//! agent who declined it, and waits in the queue at the place it first had
//! when nobody is left. Offline routing and transfers stay direct.

use rand::Rng;

use super::routing::{Memo, Pick};
use super::Shop;
use crate::agent::AgentStatus;
use crate::conversation::{Conversation, ConversationStatus, Offer};
use crate::deadlines::Timer;
use crate::effects::{DeclineCause, Event, Reply};
use crate::error::{CoreError, CoreResult};
use crate::explain::{Explanation, Reason};
use crate::ids::{AgentId, ConversationId};
use crate::index::Slot;
use crate::time::Millis;

impl Shop {
    /// Gives the conversation to the agent picked, or offers it to them in
    /// offer mode (an offline delivery is always given). `place`: its place
    /// in the queue, if it has one; `from_queue`: whether the decision was
    /// one of the queue.
    pub(super) fn give_or_offer(
        &mut self,
        id: ConversationId,
        pick: Pick,
        explanation: Explanation,
        place: Option<(i64, Millis)>,
        from_queue: bool,
        now: Millis,
    ) {
        if self.settings.assignment.offers() && !pick.offline {
            self.offer(id, pick, explanation, place, from_queue, now);
        } else {
            self.assign(id, pick.slot, pick.reason, pick.offline, explanation, now);
        }
    }

    /// Offers the conversation to the agent picked, who holds a slot for it.
    fn offer(
        &mut self,
        id: ConversationId,
        pick: Pick,
        explanation: Explanation,
        place: Option<(i64, Millis)>,
        from_queue: bool,
        now: Millis,
    ) {
        self.leave_queue(id, now);
        // A new inquiry has no place yet: it gets the one its arrival gives.
        let place = match place {
            Some(place) => place,
            None => (self.next_queue_key(false), now),
        };
        let until = self.settings.assignment.offer_lapses_at(now);
        let agent_id = self.agent_at(pick.slot).expect("live").id.clone();
        let c = self.conv_mut(id);
        c.status = ConversationStatus::Offered;
        c.agent = Some(agent_id.clone());
        c.reason = pick.reason;
        c.offline_delivery = false;
        c.explanation = explanation;
        c.offer = Some(Box::new(Offer {
            at: now,
            until,
            place,
            from_queue,
        }));
        let buyer = c.inquiry.buyer_id.clone();
        self.hold(pick.slot, id);
        self.d.timers.push(until, Timer::OfferLapses(id));
        self.fx.events.push(Event::Offered {
            conversation_id: id,
            buyer_id: buyer,
            agent_id,
            reason: pick.reason,
            timeout_secs: self.settings.assignment.offer_timeout_secs,
        });
    }

    /// The agent accepts the conversation offered to them: it becomes
    /// active, its reply clock started. Accepting again answers as it is.
    pub(super) fn accept(&mut self, id: ConversationId, now: Millis) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        match c.status {
            ConversationStatus::Offered => {}
            ConversationStatus::Active if c.offer.is_none() => return Ok(self.same(id)),
            _ => return Err(CoreError::conflict("the conversation is not offered")),
        }
        let agent = c
            .agent
            .clone()
            .expect("an offered conversation has an agent");
        let slot = self.slot(&agent).expect("offered to a live agent");
        self.conv_mut(id).offer = None;
        self.ensure_day(now);
        self.reset_misses(slot);
        let (buyer, agent_id) = self.activate(id, slot, true, now);
        let reason = self.conversations[&id].reason;
        self.fx.events.push(Event::Assigned {
            conversation_id: id,
            buyer_id: buyer,
            agent_id,
            reason,
            offline_delivery: false,
        });
        Ok(self.same(id))
    }

    /// The agent rejects the conversation offered to them: it is decided
    /// again at once, without them.
    pub(super) fn reject<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let c = self.conversation_or_404(id)?;
        if c.status != ConversationStatus::Offered {
            return Err(CoreError::conflict("the conversation is not offered"));
        }
        self.decline(id, DeclineCause::Rejected, true, now, rng);
        Ok(self.same(id))
    }

    /// An offer due to lapse by `at` lapsed, if it is still pending.
    pub(super) fn fire_offer_lapse<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        at: Millis,
        rng: &mut R,
    ) {
        let lapsed = self.conversations.get(&id).is_some_and(|c| {
            c.status == ConversationStatus::Offered
                && c.offer.as_ref().is_some_and(|o| o.until <= at)
        });
        if lapsed {
            self.decline(id, DeclineCause::Timeout, true, at, rng);
        }
    }

    /// The offers pending with the agent in `slot` move on at once (the agent
    /// went offline, or is being deleted: then the caller drains the queue,
    /// once the agent is gone).
    pub(super) fn withdraw_offers<R: Rng + ?Sized>(
        &mut self,
        slot: Slot,
        drain: bool,
        now: Millis,
        rng: &mut R,
    ) {
        let mut offered: Vec<ConversationId> = self.d.active_by_slot[slot as usize]
            .iter()
            .copied()
            .filter(|id| self.conversations[id].status == ConversationStatus::Offered)
            .collect();
        offered.sort_unstable();
        for id in offered {
            self.decline(id, DeclineCause::Offline, drain, now, rng);
        }
    }

    /// The agent of an offered conversation declined it (or let it lapse):
    /// they lose its slot and never get it again, and it is decided again
    /// at once; then (with `drain`) the queue drains into the slot freed.
    fn decline<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        cause: DeclineCause,
        drain: bool,
        now: Millis,
        rng: &mut R,
    ) {
        self.ensure_day(now);
        let agent = self.conversations[&id].agent.clone().expect("offered");
        let slot = self.slot(&agent).expect("offered to a live agent");
        self.release(id);
        let c = self.conv_mut(id);
        let offer = c.offer.take().expect("offered");
        c.agent = None;
        c.reason = Reason::Queued;
        if !c.excluded.contains(&agent) {
            c.excluded.push(agent.clone());
        }
        let today = self.today(now);
        self.day_stats(today, &agent).offers_declined += 1;
        self.fx.events.push(Event::OfferDeclined {
            conversation_id: id,
            agent_id: agent,
            cause,
        });
        self.decide_again(id, *offer, now, rng);
        if cause == DeclineCause::Timeout {
            self.count_miss(slot, now, rng);
        }
        if drain {
            self.drain(now, rng);
        }
    }

    /// Decides a declined conversation again, as the decision that made its
    /// offer was made (of the queue, or of a new inquiry), without the
    /// agents who declined it; nobody left: it waits at its place.
    fn decide_again<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        offer: Offer,
        now: Millis,
        rng: &mut R,
    ) {
        let c = &self.conversations[&id];
        let inquiry = c.inquiry.clone();
        let excluded = self.excluded_slots(c);
        let queued = offer.from_queue.then_some(offer.place.1);
        let routed = self.route(&inquiry, queued, excluded, now, rng, &mut Memo::default());
        let explanation = self.explain_routed(&routed, now);
        match routed.pick {
            Some(pick) => self.give_or_offer(
                id,
                pick,
                explanation,
                Some(offer.place),
                offer.from_queue,
                now,
            ),
            None => {
                // It no longer counts as placed until it is placed again.
                let created = self.conversations[&id].created_at;
                self.count_requeue(created, now);
                self.enqueue_at(id, offer.place, explanation, now);
            }
        }
    }

    /// The slots of the agents a conversation must not go to.
    pub(super) fn excluded_slots(&self, c: &Conversation) -> Vec<Slot> {
        c.excluded.iter().filter_map(|a| self.slot(a)).collect()
    }

    /// The agent in `slot` missed a conversation (or let an offer lapse):
    /// with `timers.auto_busy_after_misses`, that many in a row set an
    /// online agent busy.
    pub(super) fn count_miss<R: Rng + ?Sized>(&mut self, slot: Slot, now: Millis, rng: &mut R) {
        let Some(limit) = self.settings.timers.auto_busy_after_misses else {
            return;
        };
        let a = self.agent_mut(slot);
        a.missed_in_row += 1;
        if a.missed_in_row >= limit && a.status == AgentStatus::Online {
            a.missed_in_row = 0;
            let id: AgentId = a.id.clone();
            let cause = Some(crate::effects::StatusCause::Missed);
            self.set_status(&id, AgentStatus::Busy, cause, now, rng)
                .expect("a live agent");
        }
    }

    /// The agent in `slot` showed they are there (a reply, an accepted
    /// offer): their misses in a row start again from none.
    pub(super) fn reset_misses(&mut self, slot: Slot) {
        if self.agent_at(slot).is_some_and(|a| a.missed_in_row > 0) {
            self.agent_mut(slot).missed_in_row = 0;
        }
    }
}
