//! The timers of conversations (会话计时, 自动结束, and forgetting old ones)
//! and the firing of every deadline of a shop: arming them, firing them, and
//! arming them all again after a restore or a change of durations. When each
//! is due is computed by [`crate::settings::Timers`], in one place, for all
//! three.

use rand::Rng;

use super::routing::Memo;
use super::Shop;
use crate::conversation::{Conversation, ConversationStatus, EndReason};
use crate::deadlines::Timer;
use crate::ids::ConversationId;
use crate::records::RecordKey;
use crate::time::Millis;

impl Shop {
    /// When the next timer is due, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.d.timers.next(),
            self.next_recent_expiry(),
            self.next_order_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The reply clock of `id` started at `since`: it is late at the target.
    pub(super) fn arm_late(&mut self, id: ConversationId, since: Millis) {
        let at = self.settings.timers.late_at(since);
        self.d.timers.push(at, Timer::Late(id));
    }

    /// The agent of `id` replied at `reply`: it ends by itself if the buyer
    /// stays silent.
    pub(super) fn arm_auto_end(&mut self, id: ConversationId, reply: Millis) {
        let at = self.settings.timers.auto_end_at(reply);
        self.d.timers.push(at, Timer::AutoEnd(id));
    }

    /// `id` ended or was cancelled at `ended`: it is forgotten after its
    /// reply window and a grace day.
    pub(super) fn arm_purge(&mut self, id: ConversationId, ended: Millis) {
        let at = self.settings.timers.purge_at(ended);
        self.d.timers.push(at, Timer::Purge(id));
    }

    /// A queued conversation reaches the next escalation step of its rule,
    /// if it has one still ahead: it is tried again then.
    pub(super) fn arm_escalation(&mut self, id: ConversationId, now: Millis) {
        if let Some((at, timer)) = self.escalation_of(&self.conversations[&id], now, false) {
            self.d.timers.push(at, timer);
        }
    }

    /// While the shop is closed, the queue drains at the next opening: one
    /// deadline for the whole queue.
    pub(super) fn arm_opening(&mut self, now: Millis) {
        let Some(at) = self.settings.opens_at(now) else {
            return;
        };
        if self.d.opening != Some(at) {
            self.d.opening = Some(at);
            self.d.timers.push(at, Timer::Opens);
        }
    }

    /// The next escalation deadline of a queued conversation after `now`;
    /// with `again`, the last step already reached if there is one (due at
    /// once: after a restore or a change of rules nobody knows whether the
    /// conversation was tried with it).
    fn escalation_of(&self, c: &Conversation, now: Millis, again: bool) -> Option<(Millis, Timer)> {
        let since = c
            .queued_since
            .filter(|_| c.status == ConversationStatus::Queued)?;
        let rule = self.first_matching_rule(&c.inquiry)?;
        let to = &self.settings.rules[rule].to;
        let reached = to.steps_reached(since, now);
        let step = match reached.checked_sub(1) {
            Some(last) if again => &to.escalate[last],
            _ => to.escalate.get(reached)?,
        };
        Some((step.due_at(since), Timer::Escalate(c.id)))
    }

    /// Fires every deadline due at `now`: conversation timers, recent
    /// contacts, orders, old days of figures; then places queued
    /// conversations if an auto end freed a slot, and tries again those that
    /// reached an escalation step (each at once, then the next step).
    pub(super) fn fire_timers<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) {
        let mut capacity_freed = false;
        let mut escalated = Vec::new();
        // Offers that lapse and conversations that move on, in the order
        // they were due. Like escalations, they are decided at `now`, so
        // that what they arm (a new offer, a new agent's deadline) is due
        // after it: a shop restored and ticked at `now` does the same.
        let mut deciding = Vec::new();
        while let Some((at, timer)) = self.d.timers.get_mut_if(false).and_then(|t| t.pop_due(now)) {
            match timer {
                Timer::Escalate(id) => escalated.push(id),
                Timer::OfferLapses(_) | Timer::Reassign(_) => deciding.push(timer),
                _ => capacity_freed |= self.fire(at, timer),
            }
        }
        self.expire_recent(now);
        self.expire_orders(now);
        self.drop_old_figures(now);
        // A queue that waits for the opening has its deadline, whatever time
        // the timers were last rebuilt at (a shop deserialized is rebuilt as
        // of its records, and ticked right after).
        if self.d.opening.is_none() && !self.d.queue.is_empty() {
            self.arm_opening(now);
        }
        if capacity_freed {
            self.drain(now, rng);
        }
        for id in escalated {
            self.fire_escalation(id, now, rng);
        }
        for timer in deciding {
            match timer {
                Timer::OfferLapses(id) => self.fire_offer_lapse(id, now, rng),
                Timer::Reassign(id) => self.fire_reassign(id, now, rng),
                _ => {}
            }
        }
    }

    /// A queued conversation reached an escalation step: decided again with
    /// its widened target set, keeping its place, and, if it still waits,
    /// armed for the next step.
    fn fire_escalation<R: Rng + ?Sized>(&mut self, id: ConversationId, now: Millis, rng: &mut R) {
        let queued = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.status == ConversationStatus::Queued);
        if !queued {
            return;
        }
        self.ensure_day(now);
        self.place_queued(id, now, rng, &mut Memo::default());
        if self.conversations[&id].status == ConversationStatus::Queued {
            self.arm_escalation(id, now);
        }
    }

    /// Fires one timer, if it still applies; true when it freed an agent's slot.
    fn fire(&mut self, at: Millis, timer: Timer) -> bool {
        match timer {
            Timer::Escalate(_) | Timer::OfferLapses(_) | Timer::Reassign(_) => false,
            Timer::Opens => {
                self.d.opening = None;
                true
            }
            Timer::Late(id) => {
                self.fire_late(id, at);
                false
            }
            Timer::AutoEnd(id) => self.fire_auto_end(id, at),
            Timer::Purge(id) => {
                self.fire_purge(id, at);
                false
            }
        }
    }

    /// The reply clock ran past the target: the conversation is late.
    fn fire_late(&mut self, id: ConversationId, at: Millis) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let timers = &self.settings.timers;
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
    }

    /// The buyer stayed silent after the agent's last reply: the
    /// conversation ends. True when it did.
    fn fire_auto_end(&mut self, id: ConversationId, at: Millis) -> bool {
        let Some(c) = self.conversations.get(&id) else {
            return false;
        };
        let timers = &self.settings.timers;
        let due = c
            .last_agent_reply_at
            .is_some_and(|t| timers.auto_end_at(t) <= at);
        if c.status == ConversationStatus::Active && due && !c.clock.is_running() {
            self.finish(id, EndReason::AutoEnd, at);
            return true;
        }
        false
    }

    /// An ended or cancelled conversation's reply window and grace day are
    /// over: it is forgotten.
    fn fire_purge(&mut self, id: ConversationId, at: Millis) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let due = c
            .ended_at
            .is_some_and(|t| self.settings.timers.purge_at(t) <= at);
        if !c.status.is_open() && due {
            let buyer = c.inquiry.buyer_id.clone();
            self.forget(id, &buyer);
            self.conversations.remove(&id);
            self.fx.changed.push(RecordKey::Conversation(id));
        }
    }

    /// Sets every conversation timer and order expiry from the records and
    /// the current durations and rules: after a restore, and when they
    /// change.
    pub(super) fn rebuild_timers(&mut self, now: Millis) {
        let armed: Vec<(Millis, Timer)> = self
            .conversations
            .values()
            .flat_map(|c| {
                let reassign = self
                    .reassign_deadline(c.id)
                    .map(|at| (at, Timer::Reassign(c.id)));
                [self.timer_of(c), self.escalation_of(c, now, true), reassign]
            })
            .flatten()
            .collect();
        if let Some(timers) = self.d.timers.get_mut_if(!armed.is_empty()) {
            timers.rebuild(armed);
        }
        self.d.opening = None;
        if !self.d.queue.is_empty() {
            self.arm_opening(now);
        }
        self.rebuild_order_expiry();
    }

    /// The pending timer of a conversation as its record stands, if any.
    fn timer_of(&self, c: &Conversation) -> Option<(Millis, Timer)> {
        let timers = &self.settings.timers;
        match c.status {
            ConversationStatus::Queued => None,
            ConversationStatus::Offered => c
                .offer
                .as_ref()
                .map(|o| (o.until, Timer::OfferLapses(c.id))),
            ConversationStatus::Active => match (c.clock.running_since, c.last_agent_reply_at) {
                (Some(_), _) if c.clock.late => None,
                (Some(s), _) => Some((timers.late_at(s), Timer::Late(c.id))),
                (None, Some(t)) => Some((timers.auto_end_at(t), Timer::AutoEnd(c.id))),
                (None, None) => None,
            },
            ConversationStatus::Ended | ConversationStatus::Cancelled => {
                c.ended_at.map(|t| (timers.purge_at(t), Timer::Purge(c.id)))
            }
        }
    }
}
