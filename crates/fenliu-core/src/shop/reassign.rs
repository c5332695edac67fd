//! Reply or reassign (spec section 9): with `timers.reassign_after_secs`, an
//! active conversation whose agent has not sent a first reply that long
//! after it was given to them moves to another available agent of its
//! target set, never back to one who missed it, as a transfer with reason
//! `reassigned`; with nobody available it stays. The miss counts in the
//! agent's daily figures, and toward `timers.auto_busy_after_misses`.

use rand::Rng;

use super::Shop;
use crate::conversation::ConversationStatus;
use crate::deadlines::Timer;
use crate::effects::Event;
use crate::explain::Reason;
use crate::ids::ConversationId;
use crate::time::Millis;

impl Shop {
    /// `id` was given to its agent at `given`: with reply-or-reassign on, it
    /// moves on if they have not replied by the deadline.
    pub(super) fn arm_reassign(&mut self, id: ConversationId, given: Millis) {
        if let Some(at) = self.settings.timers.reassign_at(given) {
            self.d.timers.push(at, Timer::Reassign(id));
        }
    }

    /// The reassign deadline of an active conversation as its record
    /// stands, if one applies.
    pub(super) fn reassign_deadline(&self, id: ConversationId) -> Option<Millis> {
        let c = self.conversations.get(&id)?;
        if c.status != ConversationStatus::Active || c.proactive || c.replied_by_agent() {
            return None;
        }
        // Its agent already missed it (it stayed, nobody else was there; or
        // it was transferred back to them by hand): one miss is counted once.
        if c.agent.as_ref().is_some_and(|a| c.excluded.contains(a)) {
            return None;
        }
        self.settings.timers.reassign_at(c.assigned_at?)
    }

    /// A reassign deadline due at `at` passed: if the agent still has not
    /// replied, they missed the conversation, which moves to another
    /// available agent of its target set if there is one.
    pub(super) fn fire_reassign<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        at: Millis,
        rng: &mut R,
    ) {
        if self.reassign_deadline(id).is_none_or(|due| due > at) {
            return;
        }
        self.ensure_day(at);
        let c = &self.conversations[&id];
        let agent = c.agent.clone().expect("active");
        let day = self.figures_day(c.assigned_day, at);
        if let Some(day) = day {
            self.day_stats(day, &agent).missed += 1;
        }
        let c = self.conv_mut(id);
        if !c.excluded.contains(&agent) {
            c.excluded.push(agent.clone());
        }
        let c = &self.conversations[&id];
        let excluded = self.excluded_slots(c);
        let routed = self.route_reassign(c, excluded, at, rng);
        let from_slot = self.slot(&agent).expect("active with a live agent");
        if let Some(pick) = routed.pick {
            let explanation = self.explain_routed(&routed, at);
            self.release(id);
            let (_, to) = self.give(id, pick.slot, Reason::Reassigned, false, explanation, at);
            self.fx.events.push(Event::Transferred {
                conversation_id: id,
                from_agent_id: agent,
                agent_id: to,
                reason: Reason::Reassigned,
            });
        }
        self.count_miss(from_slot, at, rng);
        self.drain(at, rng);
    }
}
