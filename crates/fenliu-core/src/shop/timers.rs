//! The timers of conversations (会话计时, 自动结束, and forgetting old ones)
//! and the firing of every deadline of a shop: arming them, firing them, and
//! arming them all again after a restore or a change of durations. When each
//! is due is computed by [`crate::settings::Timers`], in one place, for all
//! three.

use rand::Rng;

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

    /// Fires every deadline due at `now`: conversation timers, recent
    /// contacts, orders, old days of figures; then places queued
    /// conversations if an auto end freed a slot.
    pub(super) fn fire_timers<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) {
        let mut capacity_freed = false;
        while let Some((at, timer)) = self.d.timers.pop_due(now) {
            capacity_freed |= self.fire(at, timer);
        }
        self.expire_recent(now);
        self.expire_orders(now);
        self.drop_old_figures(now);
        if capacity_freed {
            self.drain(now, rng);
        }
    }

    /// Fires one timer, if it still applies; true when it freed an agent's slot.
    fn fire(&mut self, at: Millis, timer: Timer) -> bool {
        match timer {
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
    /// the current durations: after a restore, and when the durations change.
    pub(super) fn rebuild_timers(&mut self) {
        let armed: Vec<(Millis, Timer)> = self
            .conversations
            .values()
            .filter_map(|c| self.timer_of(c))
            .collect();
        self.d.timers.rebuild(armed);
        self.rebuild_order_expiry();
    }

    /// The pending timer of a conversation as its record stands, if any.
    fn timer_of(&self, c: &Conversation) -> Option<(Millis, Timer)> {
        let timers = &self.settings.timers;
        match c.status {
            ConversationStatus::Queued => None,
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
